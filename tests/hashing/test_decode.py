"""Decoding every still format, the bomb guard, truncated and broken files."""

from __future__ import annotations

import importlib.util
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from vigil.hashing import pdq
from vigil.hashing.decode import apply_orientation, decode

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / ".." / "shared" / "reference" / "pdq"

_spec = importlib.util.spec_from_file_location("bench_corpus", ROOT / "benchmarks" / "corpus.py")
corpus = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(corpus)

PHOTO = corpus.photo(3, 320, 240)


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def sixteen_bit(image: Image.Image) -> Image.Image:
    grey = np.asarray(image.convert("L"), dtype=np.uint16) * 257
    return Image.fromarray(grey)  # uint16 becomes mode I;16


# (label, expected Pillow format, bytes, largest PDQ distance to the lossless original)
FORMATS = [
    ("jpeg-baseline", "JPEG", encode(PHOTO, "JPEG", quality=90), 10),
    ("jpeg-progressive", "JPEG", encode(PHOTO, "JPEG", quality=90, progressive=True), 10),
    ("jpeg-cmyk", "JPEG", encode(PHOTO.convert("CMYK"), "JPEG", quality=90), 10),
    ("jpeg-grey", "JPEG", encode(PHOTO.convert("L"), "JPEG", quality=90), 10),
    ("png-rgb", "PNG", encode(PHOTO, "PNG"), 0),
    ("png-palette", "PNG", encode(PHOTO.convert("P", palette=Image.Palette.ADAPTIVE), "PNG"), 16),
    ("png-alpha", "PNG", encode(PHOTO.convert("RGBA"), "PNG"), 0),
    ("png-grey-alpha", "PNG", encode(PHOTO.convert("LA"), "PNG"), 4),
    ("png-16bit", "PNG", encode(sixteen_bit(PHOTO), "PNG"), 16),
    ("gif", "GIF", encode(PHOTO.convert("P", palette=Image.Palette.ADAPTIVE), "GIF"), 16),
    ("bmp", "BMP", encode(PHOTO, "BMP"), 0),
    ("tiff", "TIFF", encode(PHOTO, "TIFF"), 0),
    ("webp", "WEBP", encode(PHOTO, "WEBP", quality=90), 10),
    ("heic", "HEIF", encode(PHOTO, "HEIF", quality=90), 16),
    ("avif", "AVIF", encode(PHOTO, "AVIF", quality=90), 16),
]
ORIGINAL = pdq.pdq_for_file(encode(PHOTO, "PNG"), "reference").hash


@pytest.mark.parametrize(
    ("label", "fmt", "data", "tolerance"), FORMATS, ids=[f[0] for f in FORMATS]
)
def test_every_format_decodes_and_hashes_close(label, fmt, data, tolerance):
    full = decode(data)
    assert full.error is None and not full.partial
    assert full.format == fmt
    assert full.pixels.shape == (240, 320, 3) and full.pixels.dtype == np.uint8
    grey = decode(data, min_side=100)
    assert grey.error is None and grey.pixels.ndim == 2
    # Reference mode hashes 16-bit grey clipped at 255 as Pillow converts it, like pytx
    # (tests/hashing/test_pdq.py); only the fast mode keeps it close to the original.
    for mode in ("fast",) if label == "png-16bit" else ("reference", "fast"):
        result = pdq.pdq_for_file(data, mode)
        assert pdq.hamming(result.hash, ORIGINAL) <= tolerance, (label, mode)


def test_animated_gif_gives_first_frame():
    frames = [corpus.photo(seed, 160, 120) for seed in (1, 2)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    first = pdq.pdq_for_file(encode(frames[0], "PNG"), "reference").hash
    second = pdq.pdq_for_file(encode(frames[1], "PNG"), "reference").hash
    got = pdq.pdq_for_file(data, "reference").hash
    assert pdq.hamming(got, first) <= 16 < pdq.hamming(got, second)


def test_jpeg_reduced_decode_uses_dct_scaling():
    data = encode(corpus.photo(4, 2048, 1536), "JPEG", quality=85)
    reduced = decode(data, min_side=256)
    assert reduced.scale == 4
    assert reduced.pixels.shape == (384, 512)
    assert (reduced.width, reduced.height) == (2048, 1536)


def test_non_jpeg_reduced_decode_box_reduces():
    reduced = decode(encode(corpus.photo(4, 1200, 900), "PNG"), min_side=256)
    assert reduced.scale == 3
    assert reduced.pixels.shape == (300, 400)


def test_path_and_stream_sources():
    path = REFERENCE / "data/bridge-mods/aaa-orig.jpg"
    by_path = decode(path)
    with path.open("rb") as stream:
        by_stream = decode(stream)
    assert np.array_equal(by_path.pixels, by_stream.pixels)
    assert np.array_equal(by_path.pixels, decode(path.read_bytes()).pixels)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a size but holds one tiny compressed row."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def test_decompression_bomb_is_an_error_result():
    # Declares 81 MP in a 100-byte file: refused from the header, nothing allocated.
    result = decode(png_header_only(9_000, 9_000), max_pixels=50_000_000)
    assert result.pixels is None
    assert result.error == (
        "decompression bomb guard: 9000x9000 = 81000000 pixels exceeds the limit of 50000000"
    )
    assert (result.width, result.height) == (9_000, 9_000)


def test_pixel_limit_is_configurable():
    data = encode(PHOTO, "PNG")
    assert decode(data, max_pixels=320 * 240).error is None
    refused = decode(data, max_pixels=320 * 240 - 1)
    assert refused.pixels is None and "exceeds the limit of 76799" in refused.error
    assert pdq.pdq_for_file(data, max_pixels=1000).error == refused.error.replace("76799", "1000")


def test_bomb_over_pillow_limit_is_an_error_result():
    result = decode(png_header_only(20_000, 15_000))
    assert result.pixels is None
    assert result.error.startswith("decompression bomb guard (Pillow): Image size (300000000")


def test_truncated_jpeg_gives_partial_hash():
    data = (REFERENCE / "data/bridge-mods/aaa-orig.jpg").read_bytes()
    whole = pdq.pdq_for_file(data, "reference")
    for mode in ("reference", "fast"):
        cut = pdq.pdq_for_file(data[: len(data) * 3 // 4], mode)
        assert cut.partial and cut.error is None
        assert cut.hash is not None and cut.hash != whole.hash
    assert decode(data[: len(data) // 2]).partial


def test_truncated_png_is_partial_or_error_never_raises():
    data = encode(PHOTO, "PNG")
    result = decode(data[: len(data) // 2])
    assert result.partial or result.error
    assert result.partial  # Pillow fills the missing rows when asked to
    assert result.pixels.shape == (240, 320, 3)


@pytest.mark.parametrize(
    "data",
    [b"", b"\xff\xd8\xff\xe0garbage", b"GIF89a" + b"\0" * 20, b"\x89PNG\r\n\x1a\n" + b"\0" * 40],
    ids=["empty", "jpeg-garbage", "gif-garbage", "png-garbage"],
)
def test_broken_input_is_an_error_result(data):
    result = decode(data)
    assert result.pixels is None
    assert result.error


@pytest.mark.parametrize("orientation", range(1, 9))
def test_apply_orientation_matches_pillow(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(PHOTO, "JPEG", quality=95, exif=exif)
    decoded = decode(data)
    assert decoded.orientation == orientation
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))
    assert np.array_equal(apply_orientation(decoded.pixels, orientation), expected)
