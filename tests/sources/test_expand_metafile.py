"""Windows metafiles (EMF, WMF): the bitmaps their records draw, and EMF+ pictures.

The metafiles are written here record by record after MS-EMF and MS-WMF (nothing on
Debian or PyPI writes one); Pillow's own metafile reader checks that each is a metafile
with the size written in its header.
"""

from __future__ import annotations

import hashlib
import io
import struct

import numpy as np
from PIL import Image

from vigil.model import Item, ScanError
from vigil.sources.expand.recurse import expand_tree
from vigil.sources.sniff import sniff


def _pixels(width: int, height: int, seed: int) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 255 // width, y * 255 // height, (x * y + seed) % 256], -1).astype(
        np.uint8)


def _dib(pixels: np.ndarray) -> tuple[bytes, bytes]:
    """A 24-bit BITMAPINFOHEADER and its rows (bottom-up, BGR, each padded to 4 bytes)."""
    height, width, _ = pixels.shape
    stride = (width * 3 + 3) // 4 * 4
    rows = b"".join(row[:, ::-1].tobytes().ljust(stride, b"\x00") for row in pixels[::-1])
    header = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(rows), 2835, 2835,
                         0, 0)
    return header, rows


def _png(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue()


def emf(bitmap: np.ndarray, png: bytes) -> tuple[bytes, int, int]:
    """An EMF drawing ``bitmap`` (EMR_STRETCHDIBITS) and holding ``png`` as an EMF+ image
    object (in an EMR_COMMENT); with the offsets of that record and of the PNG."""
    height, width, _ = bitmap.shape
    bmi, bits = _dib(bitmap)
    stretch = struct.pack("<II4i6i4I2I2i", 81, 80 + len(bmi) + len(bits),
                          0, 0, width - 1, height - 1, 0, 0, 0, 0, width, height,
                          80, len(bmi), 80 + len(bmi), len(bits), 0, 0x00CC0020,
                          width, height) + bmi + bits
    image = struct.pack("<II", 0xDBC01002, 1) + struct.pack("<iiiII", 16, 16, 0, 0, 1) + png
    plus = struct.pack("<HHII", 0x4008, 5 << 8, 12 + len(image), len(image)) + image
    comment_data = struct.pack("<I", 0x2B464D45) + plus
    comment_data += b"\x00" * (-len(comment_data) % 4)
    comment = struct.pack("<III", 70, 12 + len(comment_data), len(comment_data)) + comment_data
    eof = struct.pack("<5I", 14, 20, 0, 16, 20)
    body = stretch + comment + eof
    total = 88 + len(body)
    header = struct.pack("<II4i4iIIIIHHIII2i2i", 1, 88, 0, 0, width - 1, height - 1,
                         0, 0, 2540, 1905, 0x464D4520, 0x10000, total, 4, 1, 0, 0, 0, 0,
                         1024, 768, 320, 240)
    png_at = 88 + len(stretch) + 12 + 4 + 12 + 28
    return header + body, 88, png_at


def wmf(bitmap: np.ndarray) -> tuple[bytes, int]:
    """A placeable WMF drawing ``bitmap`` with META_STRETCHDIB, and that record's offset."""
    height, width, _ = bitmap.shape
    bmi, bits = _dib(bitmap)
    dib = bmi + bits
    record = struct.pack("<IHIH8h", (28 + len(dib)) // 2, 0x0F43, 0x00CC0020, 0,
                         height, width, 0, 0, height, width, 0, 0) + dib
    eof = struct.pack("<IH", 3, 0)
    words = (18 + len(record) + len(eof)) // 2
    standard = struct.pack("<HHHIHIH", 1, 9, 0x0300, words, 0, len(record) // 2, 0)
    key = struct.pack("<IH4hHI", 0x9AC6CDD7, 0, 0, 0, width, height, 72, 0)
    checksum = 0
    for (word,) in struct.iter_unpack("<H", key):
        checksum ^= word
    return key + struct.pack("<H", checksum) + standard + record + eof, 22 + 18


def _expand(name: str, data: bytes) -> list[Item | ScanError]:
    return list(expand_tree(Item(path=name, open=lambda: io.BytesIO(data), size=len(data))))


def test_emf_bitmap_record_and_emf_plus_picture() -> None:
    bitmap, inner = _pixels(40, 30, 1), _pixels(24, 18, 2)
    png = _png(inner)
    data, record_at, png_at = emf(bitmap, png)
    assert sniff(data[:64]).mime == "image/emf"
    assert Image.open(io.BytesIO(data)).format == "WMF"  # Pillow reads it as a metafile
    assert data[png_at : png_at + len(png)] == png
    results = _expand("drawing.emf", data)
    assert [r for r in results if isinstance(r, ScanError)] == []
    found = {r.path: r.open().read() for r in results if isinstance(r, Item)}
    assert sorted(found) == [f"drawing.emf!EMR_STRETCHDIBITS@{record_at}",
                             f"drawing.emf@{png_at}"]
    assert hashlib.md5(found[f"drawing.emf@{png_at}"]).hexdigest() == hashlib.md5(
        png).hexdigest()
    bmp = found[f"drawing.emf!EMR_STRETCHDIBITS@{record_at}"]
    assert bmp[:2] == b"BM" and bmp.endswith(b"".join(_dib(bitmap)))
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(bmp))), bitmap)


def test_wmf_bitmap_record() -> None:
    bitmap = _pixels(33, 21, 3)
    data, record_at = wmf(bitmap)
    assert sniff(data[:64]).mime == "image/wmf"
    assert Image.open(io.BytesIO(data)).size == (33, 21)  # Pillow reads the placeable header
    results = _expand("clip.wmf", data)
    assert [r for r in results if isinstance(r, ScanError)] == []
    (item,) = [r for r in results if isinstance(r, Item)]
    assert item.path == f"clip.wmf!META_STRETCHDIB@{record_at}"
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(item.open().read()))), bitmap)


def test_truncated_metafile_keeps_what_came_before() -> None:
    data, record_at, png_at = emf(_pixels(40, 30, 1), _png(_pixels(24, 18, 2)))
    cut = data[: png_at + 10]
    results = _expand("cut.emf", cut)
    errors = [r for r in results if isinstance(r, ScanError)]
    assert [e.location for e in errors] == [f"cut.emf@{record_at + 80 + 40 + 40 * 30 * 3}"]
    assert [r.path for r in results if isinstance(r, Item)] == [
        f"cut.emf!EMR_STRETCHDIBITS@{record_at}"]
