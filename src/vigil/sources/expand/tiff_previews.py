"""JPEG previews inside TIFF-based files: raw-camera formats (NEF, CR2, ARW, DNG ...) and
TIFFs with thumbnails.

The TIFF itself is decoded as a picture (its first image). Raw-camera files keep their
viewable pictures as JPEGs in further image directories: ``IFD1`` and SubIFDs, given by
``JPEGInterchangeFormat``/``Length`` (tags 513/514) or as the single strip of an image
compressed as JPEG (compression 6 or 7, tags 273/279). Each such JPEG is a member,
byte-exact: ``photo.nef!IFD0/SubIFD[1]@48120`` (the directory path, then the offset of
the JPEG in the file). Directories are followed at most 64 deep and never twice; a
directory outside the file ends the walk with a record. JPEG previews inside the maker
note (IFD0's Exif IFD, tag 37500; a vendor format) are found by the carver's structure
walk: ``photo.nef!IFD0/Exif/MakerNote@9170``.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator

from vigil.model import Item, ScanError
from vigil.sources.carve import carve
from vigil.sources.expand import Member, embedded, register
from vigil.sources.expand.whole import in_memory

STAGE = "expand.tiff"
_JPEG_OFFSET, _JPEG_LENGTH = 513, 514
_STRIP_OFFSETS, _STRIP_COUNTS, _COMPRESSION, _SUB_IFDS = 273, 279, 259, 330
_EXIF_IFD, _MAKER_NOTE = 34665, 37500
_MAX_IFDS = 64
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8,
               13: 4, 16: 8, 17: 8, 18: 8}


@in_memory(STAGE)
def expand_tiff(item: Item, data: bytes) -> Iterator[Member | ScanError]:
    """Yield the JPEG previews stored in a TIFF's image directories."""
    try:
        found = list(jpeg_previews(data))
    except (ValueError, struct.error) as exc:
        yield ScanError(item.path, STAGE, f"damaged image directory: {exc}")
        return
    for name, offset, length in found:
        yield embedded(data[offset : offset + length], offset, name)
    try:
        note = maker_note(data)
    except (ValueError, struct.error) as exc:
        yield ScanError(item.path, STAGE, f"damaged Exif directory: {exc}")
        return
    if note is not None:
        # Maker notes are vendor formats: their previews are found by the carver's
        # structure walk inside the note, not by each vendor's layout.
        known = {offset for _name, offset, _length in found}
        start, length = note
        for offset, size, kind in carve(io.BytesIO(data), start, length):
            if kind == "jpeg" and offset not in known:
                yield embedded(data[offset : offset + size], offset, "IFD0/Exif/MakerNote")


def maker_note(data: bytes) -> tuple[int, int] | None:
    """``(offset, length)`` of the MakerNote (tag 37500) of IFD0's Exif IFD, or None."""
    order = "<" if data[:2] == b"II" else ">"
    if struct.unpack_from(order + "H", data, 2)[0] != 42:
        return None
    exif = _entry(data, order, struct.unpack_from(order + "I", data, 4)[0], _EXIF_IFD)
    if exif is None:
        return None
    note = _entry(data, order, exif[1], _MAKER_NOTE)
    if note is None or note[1] + note[0] > len(data):
        return None
    return note[1], note[0]


def _entry(data: bytes, order: str, offset: int, wanted: int) -> tuple[int, int] | None:
    """``(count, value or offset)`` of tag ``wanted`` in the directory at ``offset``."""
    if offset + 2 > len(data):
        raise ValueError(f"directory at {offset} is outside the file")
    for index in range(struct.unpack_from(order + "H", data, offset)[0]):
        tag, _kind, count, value = struct.unpack_from(order + "HHII", data, offset + 2 + 12 * index)
        if tag == wanted:
            return count, value
    return None


def jpeg_previews(data: bytes) -> Iterator[tuple[str, int, int]]:
    """``(directory path, offset, length)`` of each JPEG a TIFF's directories point to."""
    if data[:2] not in (b"II", b"MM"):
        raise ValueError("no TIFF byte-order mark")
    order = "<" if data[:2] == b"II" else ">"
    magic = struct.unpack_from(order + "H", data, 2)[0]
    if magic == 43:
        return  # BigTIFF: its 8-byte directories are not walked here
    first = struct.unpack_from(order + "I", data, 4)[0]
    seen: set[int] = set()
    queue = [("IFD0", first)]
    chain = 0
    while queue and len(seen) < _MAX_IFDS:
        name, offset = queue.pop(0)
        if offset == 0 or offset in seen:
            continue
        if offset + 2 > len(data):
            raise ValueError(f"{name} at {offset} is outside the file")
        seen.add(offset)
        tags, following = _directory(data, order, offset)
        jpeg = _jpeg_of(data, tags)
        if jpeg is not None and name != "IFD0":
            yield name, jpeg[0], jpeg[1]
        for number, sub in enumerate(tags.get(_SUB_IFDS, ()), 1):
            queue.append((f"{name}/SubIFD[{number}]", sub))
        if following and name.count("/") == 0:
            chain += 1
            queue.append((f"IFD{chain}", following))


def _directory(data: bytes, order: str, offset: int) -> tuple[dict[int, tuple[int, ...]], int]:
    count = struct.unpack_from(order + "H", data, offset)[0]
    tags: dict[int, tuple[int, ...]] = {}
    for index in range(count):
        at = offset + 2 + 12 * index
        tag, kind, n = struct.unpack_from(order + "HHI", data, at)
        if tag not in (_JPEG_OFFSET, _JPEG_LENGTH, _STRIP_OFFSETS, _STRIP_COUNTS, _COMPRESSION,
                       _SUB_IFDS) or kind not in (3, 4, 13):
            continue
        size = _TYPE_SIZES[kind] * n
        where = at + 8 if size <= 4 else struct.unpack_from(order + "I", data, at + 8)[0]
        code = "H" if kind == 3 else "I"
        tags[tag] = struct.unpack_from(f"{order}{n}{code}", data, where)
    following = struct.unpack_from(order + "I", data, offset + 2 + 12 * count)[0]
    return tags, following


def _jpeg_of(data: bytes, tags: dict[int, tuple[int, ...]]) -> tuple[int, int] | None:
    if _JPEG_OFFSET in tags and _JPEG_LENGTH in tags:
        start, length = tags[_JPEG_OFFSET][0], tags[_JPEG_LENGTH][0]
    elif tags.get(_COMPRESSION, (0,))[0] in (6, 7) and len(tags.get(_STRIP_OFFSETS, ())) == 1:
        start, length = tags[_STRIP_OFFSETS][0], tags.get(_STRIP_COUNTS, (0,))[0]
    else:
        return None
    if start + length > len(data) or data[start : start + 2] != b"\xff\xd8":
        return None
    return start, length


register(("image/tiff",), expand_tiff)
