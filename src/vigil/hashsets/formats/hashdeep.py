"""hashdeep / md5deep audit files (``%%%% HASHDEEP-1.0`` plus a column line)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from vigil.errors import HashSetFormatError
from vigil.hashsets.entry import HashEntry, Malformed, Truncated, normalize_hex
from vigil.hashsets.formats.textlines import cut_at_end, head_lines, numbered_lines

NAME = "hashdeep"
HAS_CATEGORIES = False

_MAGIC = "%%%% HASHDEEP-1.0"
_COLUMNS_PREFIX = "%%%% "
_KNOWN_COLUMNS = {"size", "md5", "sha1", "sha256", "tiger", "whirlpool", "filename"}
_DIGESTS = ("md5", "sha1", "sha256")


def sniff(head: bytes, path: Path) -> bool:
    """Tell whether the file starts with the hashdeep magic line.

    Args:
        head: The first bytes of the file.
        path: The file (unused).

    Returns:
        True if line 1 is ``%%%% HASHDEEP-1.0``.
    """
    lines = head_lines(head, limit=1)
    return bool(lines) and lines[0].strip() == _MAGIC


def _columns(path: Path, text: str) -> list[str]:
    if not text.startswith(_COLUMNS_PREFIX):
        raise HashSetFormatError(f"{path}: line 2 is not a hashdeep column line: {text[:60]!r}")
    columns = [c.strip().lower() for c in text[len(_COLUMNS_PREFIX) :].split(",")]
    unknown = [c for c in columns if c not in _KNOWN_COLUMNS]
    if unknown or not columns or columns[-1] != "filename":
        raise HashSetFormatError(
            f"{path}: hashdeep column line {text!r} must list known columns ending in filename"
        )
    if not any(c in _DIGESTS for c in columns):
        raise HashSetFormatError(f"{path}: hashdeep file carries no MD5, SHA-1 or SHA-256")
    return columns


def _parse(columns: list[str], text: str, number: int) -> HashEntry:
    # The file name is last and may itself contain commas.
    fields = text.split(",", len(columns) - 1)
    if len(fields) != len(columns):
        raise ValueError(f"{len(fields)} fields where the header declares {len(columns)}")
    values = dict(zip(columns, fields, strict=True))
    hashes = {d: normalize_hex(values[d], d) if d in values else None for d in _DIGESTS}
    size: int | None = None
    if "size" in values:
        try:
            size = int(values["size"])
        except ValueError:
            raise ValueError(f"size {values['size']!r} is not an integer") from None
        if size < 0:
            raise ValueError(f"size {size} is negative")
    return HashEntry(size=size, name=values["filename"], record=number, **hashes)


def read(path: Path) -> Iterator[HashEntry | Malformed | Truncated]:
    """Read a hashdeep audit file.

    Args:
        path: The file. ``##`` lines are comments; columns come from line 2.

    Returns:
        An iterator of entries, and ``Malformed`` for bad lines.
        A bad last line without a line end is ``Truncated`` (the file was cut).

    Raises:
        HashSetFormatError: If the magic line or the column line is missing or wrong.
    """
    return cut_at_end(path, _records(path))


def _records(path: Path) -> Iterator[HashEntry | Malformed]:
    columns: list[str] | None = None
    for number, text in numbered_lines(path):
        if number == 1:
            if text.strip() != _MAGIC:
                raise HashSetFormatError(f"{path}: line 1 is not {_MAGIC!r}: {text[:40]!r}")
            continue
        if number == 2:
            columns = _columns(path, text)
            continue
        if not text.strip() or text.startswith("#"):
            continue
        assert columns is not None
        try:
            yield _parse(columns, text, number)
        except ValueError as exc:
            yield Malformed(number, str(exc))
    if columns is None:
        raise HashSetFormatError(f"{path}: hashdeep header is incomplete")
