"""Bitmaps inside Windows metafiles (EMF and WMF): clip art, Office drawings, print spools.

A metafile is a list of drawing records; the records that draw a bitmap carry it as a
device-independent bitmap (DIB: a BITMAPINFO header, its colour table and the pixel
rows). Each such bitmap is a member named by its record and the record's offset,
``drawing.emf!EMR_STRETCHDIBITS@1234``, its bytes a BMP file made of the DIB (a
``BITMAPFILEHEADER`` in front, nothing else changed); a DIB whose compression is
``BI_JPEG`` or ``BI_PNG`` is that JPEG or PNG file byte for byte. Pictures stored as
files elsewhere in the metafile (EMF+ image objects in comment records hold PNG or JPEG
files) are carved (``drawing.emf@5678``). The walk is one pass over the records; a
record whose size points outside the file ends the walk with a record, and what was
found before it is kept.

EMF records: MS-EMF 2.3 (type and size, both 32-bit); WMF records: MS-WMF 2.3 (size in
16-bit words, 32-bit, then a 16-bit function).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator

from vigil.model import Item, ScanError
from vigil.sources.expand import Member, register
from vigil.sources.expand.unlisted import carved_after
from vigil.sources.expand.whole import in_memory

STAGE = "expand.metafile"
EMF = "image/emf"
WMF = "image/wmf"
_EMR_EOF = 14
# EMF bitmap records: name, and where (from the record's start) offBmiSrc, cbBmiSrc,
# offBitsSrc and cbBitsSrc are (MS-EMF 2.3.1 and 2.3.7).
_EMF_BITMAPS = {
    76: ("EMR_BITBLT", 84), 77: ("EMR_STRETCHBLT", 84), 78: ("EMR_MASKBLT", 84),
    79: ("EMR_PLGBLT", 96), 80: ("EMR_SETDIBITSTODEVICE", 48),
    81: ("EMR_STRETCHDIBITS", 48), 114: ("EMR_ALPHABLEND", 84),
    116: ("EMR_TRANSPARENTBLT", 84), 93: ("EMR_CREATEMONOBRUSH", 16),
    94: ("EMR_CREATEDIBPATTERNBRUSHPT", 16),
}
# WMF bitmap records: name, and where (from the record's start) the DIB begins
# (MS-WMF 2.3.1).
_WMF_BITMAPS = {
    0x0940: ("META_DIBBITBLT", 22), 0x0B41: ("META_DIBSTRETCHBLT", 26),
    0x0F43: ("META_STRETCHDIB", 28), 0x0D33: ("META_SETDIBTODEV", 24),
    0x0142: ("META_DIBCREATEPATTERNBRUSH", 10),
}
_PLACEABLE = b"\xd7\xcd\xc6\x9a"
_BI_BITFIELDS, _BI_JPEG, _BI_PNG = 3, 4, 5


def dib_file(dib: bytes, bits: bytes | None = None) -> bytes | None:
    """The picture file of a DIB: a BMP (file header + ``dib``, then ``bits`` when the
    record stores them apart), or the JPEG/PNG a BI_JPEG/BI_PNG DIB holds. None if the
    header is none of the BITMAPINFO kinds or there are no pixels."""
    if len(dib) < 12:
        return None
    size = struct.unpack_from("<I", dib)[0]
    if size == 12:  # BITMAPCOREHEADER: 3-byte colour entries
        bpp = struct.unpack_from("<H", dib, 10)[0]
        table = 3 * (1 << bpp) if bpp <= 8 else 0
        compression = 0
    elif size in (40, 52, 56, 64, 108, 124) and len(dib) >= 40:
        bpp, compression, _image, _x, _y, used = struct.unpack_from("<HIIiiI", dib, 14)
        table = 4 * (used or ((1 << bpp) if bpp <= 8 else 0))
        if compression == _BI_BITFIELDS and size == 40:
            table += 12
    else:
        return None
    if bits is None:
        header, pixels = dib[: size + table], dib[size + table :]
    else:
        header, pixels = dib, bits
    if not pixels:
        return None
    if compression in (_BI_JPEG, _BI_PNG):
        return pixels
    offset = 14 + len(header)
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + header + pixels


def _member(name: str, offset: int, picture: bytes) -> Member:
    return Member(name=name, stream=io.BytesIO(picture), size=len(picture), offset=offset,
                  embedded=True, in_archive=False)


def _emf_bitmaps(item: Item, data: bytes) -> Iterator[Member | ScanError]:
    at = 0
    while at + 8 <= len(data):
        kind, size = struct.unpack_from("<II", data, at)
        if size < 8 or size % 4 or at + size > len(data):
            yield ScanError(f"{item.path}@{at}", STAGE,
                            f"EMF record of type {kind} has size {size}: walk ended")
            return
        if kind == _EMR_EOF:
            return
        known = _EMF_BITMAPS.get(kind)
        if known and size >= known[1] + 16:
            name, where = known
            off_bmi, cb_bmi, off_bits, cb_bits = struct.unpack_from("<4I", data, at + where)
            if off_bmi + cb_bmi > size or off_bits + cb_bits > size:
                yield ScanError(f"{item.path}@{at}", STAGE, f"{name}: bitmap outside its record")
            elif cb_bmi:
                picture = dib_file(data[at + off_bmi : at + off_bmi + cb_bmi],
                                   data[at + off_bits : at + off_bits + cb_bits])
                if picture is not None:
                    yield _member(name, at, picture)
        at += size


def _wmf_bitmaps(item: Item, data: bytes) -> Iterator[Member | ScanError]:
    at = 22 if data[:4] == _PLACEABLE else 0
    if at + 18 > len(data):
        yield ScanError(item.path, STAGE, "WMF shorter than its header")
        return
    at += 2 * struct.unpack_from("<H", data, at + 2)[0]  # the header's size, in words
    while at + 6 <= len(data):
        words, function = struct.unpack_from("<IH", data, at)
        size = 2 * words
        if size < 6 or at + size > len(data):
            yield ScanError(f"{item.path}@{at}", STAGE,
                            f"WMF record {function:#06x} has size {size}: walk ended")
            return
        if function == 0:  # META_EOF
            return
        known = _WMF_BITMAPS.get(function)
        # The same record without a bitmap is exactly (function >> 8) + 3 words long.
        if known and words != (function >> 8) + 3 and size > known[1]:
            picture = dib_file(data[at + known[1] : at + size])
            if picture is not None:
                yield _member(known[0], at, picture)
        at += size


@in_memory(STAGE)
def expand_emf(item: Item, data: bytes) -> Iterator[Member | ScanError]:
    """Yield the bitmaps an EMF draws, then the picture files carved from it."""
    yield from carved_after(_emf_bitmaps(item, data), io.BytesIO(data))


@in_memory(STAGE)
def expand_wmf(item: Item, data: bytes) -> Iterator[Member | ScanError]:
    """Yield the bitmaps a WMF draws, then the picture files carved from it."""
    yield from carved_after(_wmf_bitmaps(item, data), io.BytesIO(data))


register((EMF,), expand_emf)
register((WMF,), expand_wmf)
