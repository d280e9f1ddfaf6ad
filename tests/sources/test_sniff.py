import io
import os
import random

import pytest
from PIL import Image

from vigil.demo import draw_landscape
from vigil.sources.sniff import sniff


def _encoded(fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    draw_landscape(1, (64, 48)).save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("fmt", "mime"),
    [
        ("JPEG", "image/jpeg"),
        ("PNG", "image/png"),
        ("GIF", "image/gif"),
        ("BMP", "image/bmp"),
        ("TIFF", "image/tiff"),
        ("WEBP", "image/webp"),
    ],
)
def test_pictures_by_content(fmt: str, mime: str) -> None:
    kind = sniff(_encoded(fmt)[:4096])
    assert (kind.mime, kind.media) == (mime, "image")


def test_decoys_are_not_pictures() -> None:
    rng = random.Random(8)
    assert sniff(rng.randbytes(4096)).media == "other"
    # Random bytes that merely start FF D8 (no marker after SOI) are not a JPEG.
    assert sniff(b"\xff\xd8" + b"\x00" + rng.randbytes(4000)).media == "other"
    assert sniff(b"").media == "other"


def test_png_palette_and_alpha() -> None:
    buf = io.BytesIO()
    Image.new("RGBA", (8, 8), (1, 2, 3, 4)).convert("P").save(buf, "PNG")
    assert sniff(buf.getvalue()).mime == "image/png"


def test_containers() -> None:
    assert sniff(b"PK\x03\x04" + os.urandom(100)).mime == "application/zip"
    assert sniff(b"7z\xbc\xaf\x27\x1c" + os.urandom(10)).mime == "application/x-7z-compressed"
    assert sniff(b"Rar!\x1a\x07\x01\x00").mime == "application/vnd.rar"
    assert sniff(b"%PDF-1.7\n").mime == "application/pdf"
