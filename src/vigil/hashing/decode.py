"""Decode a still picture into pixels, safely, for perceptual hashing.

Handles every still format a seized device is likely to hold: JPEG (baseline,
progressive, CMYK), PNG (palette, alpha, 16-bit), GIF (first frame), BMP, TIFF, WebP,
HEIC/HEIF (pillow-heif) and AVIF (Pillow's own plug-in).

Two ways to decode:

* full resolution to RGB (``decode(source)``): the preprocessing of the PDQ reference
  pipeline (python-threatexchange: Pillow, then Pillow's ``convert("RGB")`` for every
  other mode, 16-bit grey, palette, CMYK and the rest alike);
* reduced to grey (``decode(source, min_side=128)``): JPEGs are decoded in the DCT
  domain at 1/2, 1/4 or 1/8 scale straight to the luma channel (``Image.draft``), which
  skips most of the inverse DCT and all of the colour conversion; other formats are
  decoded fully and box-reduced.

The stored pixels are returned as they are in the file: EXIF orientation is reported,
not applied (``apply_orientation`` applies it to an array when a caller wants it).

Pillow has its own, process-wide bomb limit (``Image.MAX_IMAGE_PIXELS``, about 89 MP:
a warning above it, a refusal above twice it). vigil does not change it; a refusal by
Pillow is reported like vigil's own. For ``max_pixels`` above about 179 MP to take
effect, the application has to raise ``Image.MAX_IMAGE_PIXELS`` once at start-up.

Nothing here raises on bad input. A file over the pixel limit (a decompression bomb)
is refused before its pixels are allocated, a truncated file that partly decodes comes
back with ``partial=True``, and anything else unreadable comes back with ``error`` set.
"""

from __future__ import annotations

import io
import os
import re
import threading
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import pillow_heif
from PIL import Image, ImageFile

from vigil.hashing.exif import facts_of
from vigil.hashing.pdq_core import luma
from vigil.model import ExifFacts
from vigil.sources.sniff import jpeg_segments

DEFAULT_MAX_PIXELS = 200_000_000
EXIF_ORIENTATION = 0x0112
_JPEG_SOI = b"\xff\xd8"
_JPEG_EOI = b"\xff\xd9"

Source = bytes | str | os.PathLike[str] | BinaryIO

pillow_heif.register_heif_opener()

# Pillow only offers a process-wide switch for loading truncated files. JPEG avoids it
# (see _reload_truncated); other formats flip it under this lock for the one load.
_TRUNCATED_LOCK = threading.Lock()


@dataclass(frozen=True)
class Decoded:
    """Pixels of one picture, or why there are none.

    Attributes:
        pixels: H x W x 3 uint8 RGB (full decode) or H x W float32 luma (reduced decode);
            None when ``error`` is set.
        width: stored width of the picture in the file, before any reduction.
        height: stored height, before any reduction.
        orientation: EXIF orientation tag 1..8 (1 when absent or invalid).
        format: Pillow's format name (``JPEG``, ``PNG``, ``HEIF`` ...), None if unknown.
        scale: how many stored pixels (per axis) one returned pixel stands for: 1 for a
            full decode, 2/4/8 for DCT-scaled JPEG, the box factor for other formats.
        partial: the file was truncated or corrupt and only part of it decoded.
        error: why nothing could be decoded, or None.
        exif: camera facts from the picture's EXIF (read from the already opened
            picture, so at no decoding cost), or None when it has none.
    """

    pixels: np.ndarray | None
    width: int = 0
    height: int = 0
    orientation: int = 1
    format: str | None = None
    scale: int = 1
    partial: bool = False
    error: str | None = None
    exif: ExifFacts | None = None


def decode(
    source: Source,
    *,
    min_side: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Decoded:
    """Decode a still picture.

    Args:
        source: the file's bytes, a path, or a binary stream positioned at its start.
        min_side: None for full-resolution RGB; otherwise return luma reduced as far as
            possible while keeping the short side at least this many pixels.
        max_pixels: refuse pictures with more pixels than this (decompression bombs).

    Returns:
        A ``Decoded``; ``error`` says why when there are no pixels.
    """
    try:
        data = _read_all(source)
    except OSError as exc:
        return Decoded(None, error=f"cannot read: {exc}")
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        return Decoded(None, error=f"decompression bomb guard (Pillow): {exc}")
    except Exception as exc:  # Pillow raises many types for unreadable input.
        return Decoded(None, error=f"not a decodable picture: {_describe(exc)}")
    try:
        return _decode_open(image, data, min_side, max_pixels)
    finally:
        image.close()


def _decode_open(image: Image.Image, data: bytes, min_side: int | None, max_pixels: int) -> Decoded:
    width, height = image.size
    fmt = image.format
    if width < 1 or height < 1:
        return Decoded(None, width, height, format=fmt, error="picture has no pixels")
    if width * height > max_pixels:
        return Decoded(
            None,
            width,
            height,
            format=fmt,
            error=(
                f"decompression bomb guard: {width}x{height} = {width * height} pixels"
                f" exceeds the limit of {max_pixels}"
            ),
        )
    orientation = _orientation(image)
    partial = False
    try:
        _prepare(image, min_side)
        image.load()
    except Exception as exc:
        reloaded = _reload_truncated(data, min_side)
        if reloaded is None:
            reason = f"decode failed: {_describe(exc)}"
            return Decoded(None, width, height, orientation, fmt, error=reason)
        image = reloaded
        partial = True
    # After the load: a PNG's eXIf chunk may follow its pixel data.
    exif = facts_of(image)
    try:
        pixels, scale = _to_pixels(image, min_side, width)
    except Exception as exc:
        reason = f"decode failed: {_describe(exc)}"
        return Decoded(
            None, width, height, orientation, fmt, partial=partial, error=reason, exif=exif
        )
    finally:
        if partial:
            image.close()
    if fmt in ("JPEG", "MPO") and not partial:
        # libjpeg decodes a garbage body into grey without raising: check the markers.
        partial = _jpeg_damaged(data)
    if fmt in ("JPEG", "MPO") and partial:
        share = jpeg_valid_scan_share(data)
        if share < MIN_VALID_SCAN_SHARE:
            reason = (f"damaged: a JPEG header with a garbage body ({share:.1%} of the scan "
                      "data is valid): no picture decodes")
            return Decoded(None, width, height, orientation, fmt, partial=True, error=reason)
    return Decoded(pixels, width, height, orientation, fmt, scale, partial, exif=exif)


# After a scan header, 0xFF may only be followed by a stuffed zero, a fill byte, a restart
# marker, the end of the image, or the tables and headers of a progressive file's next scan.
_ENTROPY_END = re.compile(rb"\xff(?:[^\x00\xd0-\xd7\xff\xc4\xda\xdb\xdc\xdd\xfe\xe0-\xef]|$)")


def _jpeg_damaged(data: bytes) -> bool:
    """True if the JPEG's first image has an invalid marker in its scan data or no end."""
    scan = _first_scan(data)
    return scan is None or scan[1] is None or data[scan[1] + 1 : scan[1] + 2] != b"\xd9"


def _first_scan(data: bytes) -> tuple[int, int | None] | None:
    """Where the first scan's entropy-coded data starts, and the offset of the marker that
    ends it (None: it runs to the end of the data); None if no scan header is found."""
    for marker, pos, length in jpeg_segments(data):
        if marker == 0xDA:
            start = pos + 2 + length
            end = _ENTROPY_END.search(data, start)
            return start, None if end is None or len(end.group()) == 1 else end.start()
    return None


# A damaged JPEG whose scan data turns invalid before this share of it is garbage with a
# JPEG header: nothing of a picture decodes from it (libjpeg fills the rest with grey).
MIN_VALID_SCAN_SHARE = 0.1


def jpeg_valid_scan_share(data: bytes) -> float:
    """The share of a JPEG's first scan data before its first invalid marker (1.0 when the
    scan is whole or merely cut short, 0.0 when there is no scan)."""
    scan = _first_scan(data)
    if scan is None:
        return 0.0
    start, end = scan
    if end is None or data[end + 1 : end + 2] == b"\xd9":
        return 1.0
    return (end - start) / max(1, len(data) - start)


def apply_orientation(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Turn stored pixels into the way the EXIF orientation says they are displayed.

    Args:
        pixels: H x W or H x W x C array as stored.
        orientation: EXIF orientation 1..8; anything else is treated as 1.

    Returns:
        A (possibly non-contiguous) view with the orientation applied.
    """
    if orientation == 2:
        return pixels[:, ::-1]
    if orientation == 3:
        return pixels[::-1, ::-1]
    if orientation == 4:
        return pixels[::-1]
    if orientation == 5:
        return pixels.swapaxes(0, 1)
    if orientation == 6:
        return np.rot90(pixels, -1)
    if orientation == 7:
        return pixels[::-1, ::-1].swapaxes(0, 1)
    if orientation == 8:
        return np.rot90(pixels, 1)
    return pixels


def _read_all(source: Source) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as handle:
            return handle.read()
    return source.read()


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(EXIF_ORIENTATION, 1)
    except Exception:  # a corrupt EXIF block must not lose the picture
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _jpeg_scale(width: int, height: int, min_side: int) -> int:
    """Largest libjpeg scale denominator (1, 2, 4, 8) keeping the short side >= min_side."""
    short = min(width, height)
    for scale in (8, 4, 2):
        if short // scale >= min_side:
            return scale
    return 1


def _prepare(image: Image.Image, min_side: int | None) -> None:
    """Ask the JPEG decoder for grey at reduced scale before pixels are loaded."""
    if min_side is None or image.format != "JPEG":
        return
    width, height = image.size
    scale = _jpeg_scale(width, height, min_side)
    # CMYK JPEGs cannot be decoded straight to grey; draft then only scales them.
    mode = "L" if image.mode in ("L", "RGB", "YCbCr") else image.mode
    image.draft(mode, (max(1, width // scale), max(1, height // scale)))


def _reload_truncated(data: bytes, min_side: int | None) -> Image.Image | None:
    """Decode what can be decoded of a truncated or damaged file, or None."""
    try:
        if data.startswith(_JPEG_SOI):
            # An end-of-image marker lets libjpeg finish the scan (grey fill) without
            # the process-wide LOAD_TRUNCATED_IMAGES switch.
            image = Image.open(io.BytesIO(data + _JPEG_EOI))
            _prepare(image, min_side)
            image.load()
            return image
        with _TRUNCATED_LOCK:
            previous = ImageFile.LOAD_TRUNCATED_IMAGES
            ImageFile.LOAD_TRUNCATED_IMAGES = True
            try:
                image = Image.open(io.BytesIO(data))
                image.load()
            finally:
                ImageFile.LOAD_TRUNCATED_IMAGES = previous
        return image
    except Exception:
        return None


def _to_pixels(
    image: Image.Image, min_side: int | None, stored_width: int
) -> tuple[np.ndarray, int]:
    """Pixels as returned by ``decode`` and their scale against the stored picture."""
    if min_side is None:
        # The reference pipeline: Pillow's own conversion, whatever the mode (16-bit grey
        # is clipped at 255, palette transparency and CMYK ink are Pillow's).
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        return np.asarray(rgb), 1
    if image.mode.startswith("I;16"):
        # Pillow's I;16 -> RGB conversion clips at 255 (the reference hashes that
        # washed-out picture); the reduced decode keeps the high byte instead, so that a
        # 16-bit copy of a known picture looks like the original.
        image = Image.fromarray((np.asarray(image).astype(np.uint16) >> 8).astype(np.uint8))
    # After a JPEG draft the image is already smaller than the stored size.
    drafted = max(1, round(stored_width / image.size[0]))
    if image.mode != "L":
        image = image if image.mode == "RGB" else image.convert("RGB")
    factor = max(1, min(image.size) // min_side)
    if factor > 1:
        image = image.reduce(factor)
    pixels = np.asarray(image)
    grey = pixels.astype(np.float32) if pixels.ndim == 2 else luma(pixels)
    return grey, drafted * factor
