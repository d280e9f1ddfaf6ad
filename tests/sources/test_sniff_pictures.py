"""Every picture format Pillow decodes is sniffed as an image; sound-only MP4/ASF is not video.

Each picture is written by Pillow (or, where Pillow cannot write the format, built by
hand to its specification) and must both sniff as ``image`` and decode.
"""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image

from tests_support import media_file
from vigil.demo import draw_landscape
from vigil.hashing.decode import decode
from vigil.sources.sniff import HEAD_SIZE, sniff


def _landscape(mode: str = "RGB", size: tuple[int, int] = (64, 48)) -> Image.Image:
    return draw_landscape(3, size).convert(mode)


def _saved(fmt: str, mode: str = "RGB", size: tuple[int, int] = (64, 48), **kw: object) -> bytes:
    buf = io.BytesIO()
    _landscape(mode, size).save(buf, fmt, **kw)
    return buf.getvalue()


def _bmp_v2_header() -> bytes:
    # A BMP with the 52-byte BITMAPV2INFOHEADER (bit masks, no alpha mask), 24 bpp.
    width, height = 16, 8
    row = bytes(range(48))
    pixels = row * height
    info = struct.pack("<IiiHHIIiiII", 52, width, height, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    info += struct.pack("<III", 0xFF0000, 0xFF00, 0xFF)
    offset = 14 + len(info)
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + info + pixels


def _psd() -> bytes:
    # Version 1, 3 channels, 8 x 4, 8 bits, RGB, raw image data.
    width, height = 8, 4
    header = b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, height, width, 8, 3)
    sections = struct.pack(">III", 0, 0, 0)
    planes = b"".join(bytes([c * 40 + x * 20 for x in range(width)]) * height for c in range(3))
    return header + sections + struct.pack(">H", 0) + planes


def _fits() -> bytes:
    cards = ["SIMPLE  =                    T", "BITPIX  =                    8",
             "NAXIS   =                    2", "NAXIS1  =                   16",
             "NAXIS2  =                    8", "END"]
    header = "".join(c.ljust(80) for c in cards).ljust(2880).encode()
    data = bytes(range(128))
    return header + data + b"\0" * (2880 - len(data))


def _xpm() -> bytes:
    rows = ['"ab", "ba"'.replace(", ", ",\n")]
    body = '"2 2 2 1",\n"a c #336699",\n"b c #CCAA00",\n' + rows[0]
    return b"/* XPM */\nstatic char *p[] = {\n" + body.encode() + b"\n};\n"


def _cur() -> bytes:
    ico = bytearray(_saved("ICO", size=(32, 32), sizes=[(32, 32)], bitmap_format="bmp"))
    ico[2] = 2  # type 2: a cursor; the hotspot takes the planes/bit-count fields
    return bytes(ico)


def _dcx() -> bytes:
    pcx = _saved("PCX")
    return struct.pack("<II", 0x3ADE68B1, 12) + b"\0\0\0\0" + pcx


def _flc() -> bytes:
    width, height = 8, 4
    palette = struct.pack("<HBB", 1, 0, 0) + bytes(range(256)) * 3
    colour = struct.pack("<IH", 6 + len(palette), 4) + palette
    pixels = bytes(range(width * height))
    copy = struct.pack("<IH", 6 + len(pixels), 16) + pixels
    chunks = colour + copy
    frame = struct.pack("<IHH8x", 16 + len(chunks), 0xF1FA, 2) + chunks
    header = struct.pack("<IHHHHHHI", 128 + len(frame), 0xAF12, 1, width, height, 8, 3, 5)
    return header.ljust(128, b"\0") + frame


PICTURES = {
    "image/jp2": lambda: _saved("JPEG2000"),
    "image/x-jp2-codestream": lambda: _saved("JPEG2000", no_jp2=True),
    "image/x-tga": lambda: _saved("TGA"),
    "image/x-tga rle": lambda: _saved("TGA", compression="tga_rle"),
    "image/x-tga grey": lambda: _saved("TGA", "L"),
    "image/vnd-ms.dds": lambda: _saved("DDS", "RGBA"),
    "image/sgi": lambda: _saved("SGI"),
    "image/x-portable-anymap P6": lambda: _saved("PPM"),
    "image/x-portable-anymap P5": lambda: _saved("PPM", "L"),
    "image/x-portable-anymap P4": lambda: _saved("PPM", "1"),
    "image/vnd.adobe.photoshop": _psd,
    "image/vnd.microsoft.icon": lambda: _saved("ICO", size=(32, 32), sizes=[(32, 32)]),
    "image/vnd.microsoft.icon cur": _cur,
    "image/x-pcx": lambda: _saved("PCX"),
    "image/x-dcx": _dcx,
    "image/x-flic": _flc,
    "image/x-blp": lambda: _saved("BLP", "P"),
    "image/icns": lambda: _saved("ICNS", "RGBA", size=(32, 32)),
    "image/fits": _fits,
    "image/x-xpixmap": _xpm,
    "image/x-xbitmap": lambda: _saved("XBM", "1"),
    "image/qoi": lambda: _saved("QOI"),
    "image/tiff bigtiff": lambda: _saved("TIFF", big_tiff=True),
    "image/bmp v2": _bmp_v2_header,
    "image/bmp v5": lambda: _saved("BMP", "RGBA"),
    "image/x-msp": lambda: _saved("MSP", "1"),
}


@pytest.mark.parametrize("case", sorted(PICTURES))
def test_every_pillow_format_is_an_image_that_decodes(case: str) -> None:
    data = PICTURES[case]()
    kind = sniff(data[:HEAD_SIZE])
    assert (kind.mime, kind.media) == (case.split(" ")[0], "image")
    decoded = decode(data)
    assert decoded.error is None and not decoded.partial, decoded.error
    assert decoded.pixels is not None and decoded.width > 0


def test_signatures_alone_are_not_pictures() -> None:
    # Headers without what must follow them, and text that merely starts like a format.
    for head in (b"\x00\x00\x01\x00" + b"\0" * 40, b"P6x", b"#define X 1\n", b"BM" + b"\0" * 40,
                 b"\x0a\x05\x01\x08" + b"\xff" * 62, b"SIMPLE  = F"):
        assert sniff(head).media == "other", head


@pytest.mark.parametrize(
    ("container", "video", "audio", "expected"),
    [
        ("mp4", True, True, ("video/mp4", "video")),
        ("mp4", False, True, ("audio/mp4", "other")),
        ("ipod", False, True, ("audio/mp4", "other")),
        ("asf", True, True, ("video/x-ms-asf", "video")),
        ("asf", False, True, ("audio/x-ms-wma", "other")),
    ],
)
def test_sound_only_is_not_video(container: str, video: bool, audio: bool, expected: tuple) -> None:
    data = media_file(container, video, audio)
    kind = sniff(data[:HEAD_SIZE])
    assert (kind.mime, kind.media) == expected


def test_jpeg_header_with_garbage_body_is_damaged_not_a_picture() -> None:
    import random

    from vigil.model import Hashes, Item
    from vigil.pipeline.perceptual import analyse_picture

    whole = _saved("JPEG", size=(200, 150))
    body = whole.index(b"\xff\xda") + 20
    damaged = whole[:body] + random.Random(4).randbytes(5000)
    assert sniff(damaged[:HEAD_SIZE]).media == "image"
    item = Item(path="x.jpg", open=lambda: io.BytesIO(damaged), size=len(damaged))
    hashes, errors = analyse_picture(item, Hashes(len(damaged), "", "", "", "image/jpeg", "image"))
    # Damaged, and counted as "other": not a picture, no PDQ, with a record saying why.
    assert (hashes.media, hashes.partial, hashes.pdq) == ("other", True, None)
    assert [(e.location, e.stage, e.reason) for e in errors] == [
        ("x.jpg", "decode", "damaged: a JPEG header with a garbage body (1.2% of the scan data "
         "is valid): no picture decodes; not counted as a picture")
    ]
    # Cut short, the same picture still decodes (partly) and stays a picture.
    cut = whole[: len(whole) // 2]
    item = Item(path="y.jpg", open=lambda: io.BytesIO(cut), size=len(cut))
    hashes, errors = analyse_picture(item, Hashes(len(cut), "", "", "", "image/jpeg", "image"))
    assert (hashes.media, hashes.partial) == ("image", True) and hashes.pdq is not None
    assert [e.reason for e in errors] == ["picture only partly decoded (truncated?)"]
    # The whole picture, unchanged, is not damaged.
    item = Item(path="z.jpg", open=lambda: io.BytesIO(whole), size=len(whole))
    hashes, errors = analyse_picture(item, Hashes(len(whole), "", "", "", "image/jpeg", "image"))
    assert not hashes.partial and hashes.pdq is not None and errors == []
