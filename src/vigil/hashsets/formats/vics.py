"""Project VIC VICS JSON (OData): 1.x ``odata.metadata`` and 2.0 ``@odata.context``.

The file is streamed with ijson: only one Media record is held in memory at a time, so
a file of millions of records imports in constant memory; the records are built by
ijson's compiled backend. Both the hash-set form
(``value`` holds Media) and the case form (``value`` holds Cases, each with ``Media``)
are read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import ijson

from vigil.errors import HashSetFormatError
from vigil.hashsets.entry import HashEntry, Malformed, Truncated, normalize_hex
from vigil.hashsets.exact_block import NO_SIZE, ExactColumns

NAME = "vics"
HAS_CATEGORIES = True
# Imported as an exact-hash block (``exact_block``), by ``read_exact``.
EXACT_BLOCK = True

_CONTEXT_KEYS = ("odata.metadata", "@odata.context")
_MODEL = re.compile(r"ProjectVic/DataModels/\d+(\.\d+)*\.xml", re.IGNORECASE)
_MEDIA_PREFIX = "value.item"
_CASE_MEDIA_PREFIX = "value.item.Media.item"
_BOM = b"\xef\xbb\xbf"
# Where ``_media`` puts a record's number in its Media object. No VICS field starts with
# NUL; a file's own key of that name is overwritten, which changes nothing (it is no field).
_RECORD = "\0record"
# Media fields read by ``media_entry`` beyond the hashes, size and category: a record with
# any of them is not plain.
_NOT_PLAIN = frozenset({"AlternativeHashes", "PhotoDNA", "Name", "MediaFiles"})


def sniff(head: bytes, path: Path) -> bool:
    """Tell whether the file starts like a VICS JSON document.

    Args:
        head: The first bytes of the file.
        path: The file (unused).

    Returns:
        True if the head is a JSON object naming an OData context key and the Project
        VIC data model.
    """
    text = head.removeprefix(_BOM).decode("utf-8", errors="replace").lstrip()
    if not text.startswith("{"):
        return False
    has_key = any(f'"{key}"' in text for key in _CONTEXT_KEYS)
    return has_key and _MODEL.search(text) is not None


def _open(path: Path) -> BinaryIO:
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise HashSetFormatError(f"{path}: cannot open: {exc.strerror or exc}") from exc
    if handle.read(3) != _BOM:
        handle.seek(0)
    return handle


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _size(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"MediaSize {value!r} is not an integer")
    try:
        size = int(str(value).strip())
    except ValueError:
        raise ValueError(f"MediaSize {value!r} is not an integer") from None
    if size < 0:
        raise ValueError(f"MediaSize {size} is negative")
    return size


def _alternative(media: dict[str, Any], wanted: str) -> Any:
    hashes = media.get("AlternativeHashes") or []
    if not isinstance(hashes, list):
        raise ValueError("AlternativeHashes is not a list")
    for item in hashes:
        if isinstance(item, dict) and str(item.get("HashName", "")).strip().lower() == wanted:
            return item.get("HashValue")
    return None


def _name(media: dict[str, Any]) -> str | None:
    if _text(media.get("Name")):
        return _text(media.get("Name"))
    files = media.get("MediaFiles")
    if isinstance(files, list):
        for item in files:
            if isinstance(item, dict) and _text(item.get("FileName")):
                return _text(item.get("FileName"))
    return None


def media_entry(media: Any, record: int) -> HashEntry:
    """Turn one VICS Media object into an entry.

    Args:
        media: The decoded Media object.
        record: Its 1-based index among the Media records of the file.

    Returns:
        The entry; PhotoDNA is carried through exactly as found.

    Raises:
        ValueError: If the record is unusable (not an object, no hash, a bad value).
    """
    if not isinstance(media, dict):
        raise ValueError(f"Media record is a {type(media).__name__}, not an object")
    md5 = _text(media.get("MD5"))
    sha1 = _text(media.get("SHA1"))
    sha256 = _text(media.get("SHA256"))
    if not (md5 or sha1 or sha256):
        raise ValueError("Media record has no MD5, SHA1 or SHA256")
    pdq = _text(_alternative(media, "pdq"))
    photodna = media.get("PhotoDNA") or _alternative(media, "photodna")
    return HashEntry(
        md5=normalize_hex(md5, "md5") if md5 else None,
        sha1=normalize_hex(sha1, "sha1") if sha1 else None,
        sha256=normalize_hex(sha256, "sha256") if sha256 else None,
        size=_size(media.get("MediaSize")),
        name=_name(media),
        category=_text(media.get("Category")),
        photodna=photodna if isinstance(photodna, str) and photodna else None,
        pdq=normalize_hex(pdq, "pdq") if pdq else None,
        record=record,
    )


def _check_context(path: Path, value: Any) -> str:
    if not isinstance(value, str) or _MODEL.search(value) is None:
        raise HashSetFormatError(
            f"{path}: OData context {str(value)[:100]!r} is not a Project VIC data model"
        )
    return _CASE_MEDIA_PREFIX if value.rstrip("/").endswith("#Cases") else _MEDIA_PREFIX


def read(path: Path) -> Iterator[HashEntry | Malformed | Truncated]:
    """Stream the Media records of a VICS file.

    The head of the file (up to the start of ``value``) is parsed event by event to find
    and check the OData context; the Media records are then built by ijson's compiled
    backend (``ijson.items``), one at a time.

    Args:
        path: The VICS JSON file (UTF-8, with or without BOM).

    Returns:
        An iterator of entries, ``Malformed(index, reason)`` for bad Media records, and
        a last ``Truncated`` when the JSON breaks off after the OData context (a file
        cut short): the complete records before it are kept.

    Raises:
        HashSetFormatError: If the file is not VICS JSON (no OData context naming the
            Project VIC model before ``value``), or the JSON is broken before it.
    """
    for item in _media(path):
        yield _finish(item, item[_RECORD]) if type(item) is dict else item


def _media(path: Path) -> Iterator[dict[str, Any] | Malformed | Truncated]:
    """The Media objects of the file, each with its record number under ``_RECORD``, a
    ``Malformed`` for a record that is no object, and a last ``Truncated`` if cut off.

    Raises:
        HashSetFormatError: See ``read``.
    """
    with _open(path) as handle:
        media_prefix, broken = _head(path, handle)
    if broken is not None:
        yield Truncated(1, f"broken JSON after 0 complete Media records: {broken}")
        return
    if media_prefix is None:
        return
    record = 0
    with _open(path) as handle:
        try:
            for media in ijson.items(handle, media_prefix):
                record += 1
                if type(media) is dict:
                    media[_RECORD] = record
                    yield media
                elif isinstance(media, list):
                    yield _finish(media, record)
                else:
                    yield Malformed(record, f"Media record is a {_event(media)}, not an object")
        except (ijson.JSONError, UnicodeDecodeError) as exc:
            # A VICS file cut or broken part way: the complete records before stand.
            yield Truncated(
                record + 1,
                f"broken JSON after {record} complete Media records: {_reason(exc)}",
            )


def read_exact(
    path: Path, samples: int = 20, progress: Callable[[int], None] | None = None
) -> ExactColumns:
    """Read a VICS file straight into the columns of an exact-hash block.

    Gives the entries, malformed records and cut-off of ``read`` (tested record by
    record), but a plain record (hashes of the right length, an integer size, no
    alternative hashes, PhotoDNA or names) is appended without building a ``HashEntry``;
    every other one goes through ``media_entry``.

    Args:
        path: The VICS JSON file.
        samples: How many malformed records to keep.
        progress: Called with the number of records read so far, every 100,000.

    Returns:
        The columns.

    Raises:
        HashSetFormatError: See ``read``.
    """
    columns = ExactColumns()
    record_append, size_append = columns.record.append, columns.size.append
    category_append, categories = columns.category.append, columns.categories
    md5s, sha1s, sha256s = (columns.digests[name] for name in ("md5", "sha1", "sha256"))
    md5_rows, sha1_rows, sha256_rows = (columns.rows[name].append
                                        for name in ("md5", "sha1", "sha256"))
    fromhex = bytes.fromhex
    row = 0
    for media in _media(path):
        if type(media) is Truncated:
            columns.truncated = media
            break
        if type(media) is not dict:
            columns.add_malformed(media, samples)  # type: ignore[arg-type]
            continue
        record = media[_RECORD]
        if progress is not None and record % 100_000 == 0:
            progress(record)
        md5 = media.get("MD5")
        sha1 = media.get("SHA1")
        sha256 = media.get("SHA256")
        size = media.get("MediaSize", None)
        category = media.get("Category")
        try:
            if media.keys() & _NOT_PLAIN or not (md5 or sha1 or sha256):
                raise ValueError
            raw_md5 = _raw(fromhex, md5, 32)
            raw_sha1 = _raw(fromhex, sha1, 40)
            raw_sha256 = _raw(fromhex, sha256, 64)
            if size is None:
                size = NO_SIZE
            elif type(size) is not int or size < 0:
                raise ValueError
        except ValueError:
            done = _finish(media, record)
            if type(done) is Malformed:
                columns.add_malformed(done, samples)
            else:
                columns.add(done)
                row += 1
            continue
        if raw_md5:
            md5s += raw_md5
            md5_rows(row)
        if raw_sha1:
            sha1s += raw_sha1
            sha1_rows(row)
        if raw_sha256:
            sha256s += raw_sha256
            sha256_rows(row)
        if category is not None:
            category = str(category).strip() or None
        code = categories.get(category)
        if code is None:
            code = categories[category] = len(categories)
        category_append(code)
        size_append(size)
        record_append(record)
        row += 1
    if progress is not None:
        progress(columns.malformed_count + len(columns))
    return columns


def _raw(fromhex: Callable[[str], bytes], value: Any, digits: int) -> bytes | None:
    """The digest of a plain hash field (absent, or exactly ``digits`` hex digits).

    Raises:
        ValueError: Anything else (left to ``media_entry``, which strips and names it).
    """
    if value is None:
        return None
    if type(value) is not str or len(value) != digits:
        raise ValueError
    raw = fromhex(value)
    if len(raw) * 2 != digits:  # fromhex skips whitespace between digit pairs
        raise ValueError
    return raw


def _reason(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _event(value: Any) -> str:
    """The ijson event name of a scalar (what a bad Media record is called)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return "string" if isinstance(value, str) else "number"


def _head(path: Path, handle: BinaryIO) -> tuple[str | None, str | None]:
    """Parse up to the ``value`` array: (prefix of the Media records, or None when the
    document has no ``value``; the JSON error met after the context, if any).

    Raises:
        HashSetFormatError: Not VICS, or the JSON is broken before the context.
    """
    media_prefix: str | None = None
    try:
        for prefix, event, value in ijson.parse(handle):
            if prefix in _CONTEXT_KEYS and media_prefix is None:
                media_prefix = _check_context(path, value)
            elif prefix == "" and event not in ("start_map", "map_key", "end_map"):
                raise HashSetFormatError(f"{path}: JSON document is not an object")
            elif prefix == "value" and event == "start_array":
                if media_prefix is None:
                    raise HashSetFormatError(
                        f"{path}: no odata.metadata/@odata.context key before 'value': not VICS"
                    )
                return media_prefix, None
    except (ijson.JSONError, UnicodeDecodeError) as exc:
        if media_prefix is None:
            raise HashSetFormatError(
                f"{path}: broken JSON before the OData context: {_reason(exc)}"
            ) from None
        return media_prefix, _reason(exc)
    if media_prefix is None:
        raise HashSetFormatError(f"{path}: no odata.metadata/@odata.context key: not VICS")
    return None, None


def _finish(media: Any, record: int) -> HashEntry | Malformed:
    try:
        return media_entry(media, record)
    except ValueError as exc:
        return Malformed(record, str(exc))
