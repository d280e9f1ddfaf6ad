"""OLE2 compound files, read with olefile: Outlook ``.msg``, ``Thumbs.db``, legacy Office.

An Outlook message (``__properties_version1.0`` at the root) yields its attachments,
each with its own name: ``mail.msg!attachment[3]:photo.jpg`` (the number is the
attachment's position, the name its long file name ``3707``, else its short one
``3704``, else its display name ``3001``). The data is ``__substg1.0_37010102``; an
attached message (``3701000D``, a sub-storage) is walked the same way, as
``attachment[2]:Fwd.msg/attachment[1]:x.jpg``. Two attachments of one name are two
members, never one.

Every other compound file (``Thumbs.db``, ``.doc``/``.xls``/``.ppt``, embedded objects
in their ``ObjectPool``) yields the files embedded in ``\\x01Ole10Native`` streams
(``ObjectPool/_1234/\\x01Ole10Native:file name``) and the JPEG/PNG/GIF files carved
from each stream (``stream path@offset in the stream``); in ``Thumbs.db`` every
thumbnail stream holds one JPEG after a short header. A stream whose sector chain is
cut or loops gets a record, and the other streams are still read.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator

import olefile

from vigil.model import Item, ScanError
from vigil.sources.carve import carve
from vigil.sources.expand import Member, embedded, register
from vigil.sources.expand.whole import in_memory

STAGE = "expand.ole"
_MSG_MARKER = "__properties_version1.0"
_ATTACH = "__attach_version1.0_#"
_DATA = "__substg1.0_37010102"
_EMBEDDED_MESSAGE = "__substg1.0_3701000D"
# Long file name, short file name, display name; Unicode (001F) before ANSI (001E).
_NAME_TAGS = ("3707", "3704", "3001")
_NATIVE = "\x01Ole10Native"


@in_memory(STAGE)
def expand_ole(item: Item, data: bytes) -> Iterator[Member | ScanError]:
    """Yield the attachments of a .msg, or the pictures and embedded files of any OLE2 file."""
    try:
        # A file object, never bytes: olefile takes short bytes for a file name.
        ole = olefile.OleFileIO(io.BytesIO(data), raise_defects=olefile.DEFECT_FATAL)
    except Exception as exc:  # noqa: BLE001 - olefile raises several types for bad input
        yield ScanError(item.path, STAGE, f"not a readable OLE2 file: {_describe(exc)}")
        return
    with ole:
        try:
            entries = ole.listdir(streams=True, storages=True)
        except Exception as exc:  # noqa: BLE001
            yield ScanError(item.path, STAGE, f"directory unreadable: {_describe(exc)}")
            return
        if [_MSG_MARKER] in entries:
            yield from _message(item, ole, entries, [], "")
        else:
            yield from _streams(item, ole, entries)
        for issue, reason in getattr(ole, "parsing_issues", []):
            yield ScanError(item.path, STAGE, f"damaged: {issue.__name__}: {reason}")


def _message(
    item: Item, ole: olefile.OleFileIO, entries: list[list[str]], at: list[str], prefix: str
) -> Iterator[Member | ScanError]:
    """The attachments of the message stored at ``at`` (the root, or an attached message)."""
    depth = len(at)
    storages = sorted(
        {e[depth] for e in entries if len(e) > depth + 1 and e[:depth] == at
         and e[depth].startswith(_ATTACH)}
    )
    for number, storage in enumerate(storages, 1):
        where = [*at, storage]
        name = _attachment_name(ole, where) or storage
        label = f"{prefix}attachment[{number}]:{name}"
        if [*where, _EMBEDDED_MESSAGE] in entries:
            yield from _message(item, ole, entries, [*where, _EMBEDDED_MESSAGE], label + "/")
            continue
        if [*where, _DATA] not in entries:
            yield ScanError(f"{item.path}!{label}", STAGE, "attachment without data (a link?)")
            continue
        blob = _read(ole, [*where, _DATA])
        if isinstance(blob, str):
            yield ScanError(f"{item.path}!{label}", STAGE, blob)
            continue
        yield Member(name=label, stream=io.BytesIO(blob), size=len(blob), embedded=True,
                     in_archive=False)


def _attachment_name(ole: olefile.OleFileIO, where: list[str]) -> str | None:
    for tag in _NAME_TAGS:
        for kind, encoding in (("001F", "utf-16-le"), ("001E", "latin-1")):
            path = [*where, f"__substg1.0_{tag}{kind}"]
            if ole.exists("/".join(path)):
                raw = _read(ole, path)
                if isinstance(raw, bytes):
                    text = raw.decode(encoding, "replace").rstrip("\0").strip()
                    if text:
                        return text.replace("!", "_").replace("/", "_")
    return None


def _streams(
    item: Item, ole: olefile.OleFileIO, entries: list[list[str]]
) -> Iterator[Member | ScanError]:
    for path in entries:
        if ole.get_type(path) != olefile.STGTY_STREAM:
            continue
        name = "/".join(_printable(part) for part in path)
        blob = _read(ole, path)
        if isinstance(blob, str):
            yield ScanError(f"{item.path}!{name}", STAGE, blob)
            continue
        if path[-1] == _NATIVE:
            native = _ole10_native(blob)
            if native is not None:
                label, content = native
                yield Member(name=f"{name}:{label}", stream=io.BytesIO(content),
                             size=len(content), embedded=True, in_archive=False)
                continue
        for offset, length, _kind in carve(io.BytesIO(blob), 0, len(blob)):
            yield embedded(blob[offset : offset + length], offset, name)


def _printable(name: str) -> str:
    # Stream names may start with a control character (\x01Ole10Native, \x05Summary...).
    return "".join(f"\\x{ord(c):02x}" if ord(c) < 0x20 else c for c in name)


def _ole10_native(blob: bytes) -> tuple[str, bytes] | None:
    """(file name, content) of an OLE 1.0 "Package" object, or None if it is not one."""
    try:
        pos = 6  # total size (4), flags (2)
        label_end = blob.index(b"\0", pos)
        file_end = blob.index(b"\0", label_end + 1)
        pos = file_end + 1 + 4  # unknown (2), type (2)
        pos += 4 + struct.unpack_from("<I", blob, file_end + 5)[0]  # the temp path
        size = struct.unpack_from("<I", blob, pos)[0]
        pos += 4
    except (ValueError, struct.error):
        return None
    if pos + size > len(blob):
        return None
    name = blob[label_end + 1 : file_end].decode("latin-1").replace("\\", "/").rsplit("/", 1)[-1]
    return name or "object", blob[pos : pos + size]


def _read(ole: olefile.OleFileIO, path: list[str]) -> bytes | str:
    """The stream's bytes, or why they cannot be read (a cut or looping sector chain)."""
    try:
        problem = _chain_problem(ole, path)
        if problem is not None:
            return problem
        with ole.openstream(path) as handle:
            return handle.read()
    except Exception as exc:  # noqa: BLE001
        return f"stream cut: {_describe(exc)}"


def _chain_problem(ole: olefile.OleFileIO, path: list[str]) -> str | None:
    """Why the stream's sector chain cannot give its size in bytes, or None.

    olefile follows a chain that loops back without noticing (it re-reads the same
    sectors), so the chain is walked here first.
    """
    entry = ole.direntries[ole._find(path)]
    if entry.size < ole.minisectorcutoff:
        if ole.minifat is None:
            ole.loadminifat()
        fat, unit = ole.minifat, ole.minisectorsize
    else:
        fat, unit = ole.fat, ole.sectorsize
    need = -(-entry.size // unit)
    sector = entry.isectStart
    seen: set[int] = set()
    for done in range(need):
        if sector in seen:
            return f"stream cut: its sector chain loops back after {done} of {need} sectors"
        if sector >= len(fat):
            return f"stream cut: its sector chain ends after {done} of {need} sectors"
        seen.add(sector)
        sector = fat[sector]
    return None


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


register(("application/x-ole-storage",), expand_ole)
