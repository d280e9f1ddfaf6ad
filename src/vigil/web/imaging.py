"""Server-side renderings: blurred greyscale tiles, the one revealed picture, EXIF.

Tiles are the only pictures sent by default. Each is rendered from the picture first
shrunk to at most ``FLOOR_SIDE`` pixels on its long side (greyscale), then enlarged to
``TILE_SIDE`` and Gaussian-blurred for display: whatever the blur asked for and whatever
a client does with the bytes, a tile carries no more detail than that small picture.
The unblurred colour rendering leaves the server only through an explicit, logged reveal.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageFilter, ImageOps

from vigil.errors import EvidenceError

# Re-exported: the detail page reads EXIF through this module.
from vigil.hashing.exif import exif_facts as exif_facts
from vigil.model import ExifFacts as ExifFacts

TILE_SIDE = 480
# The information floor: a tile is made from the picture at this size (long side).
FLOOR_SIDE = 40
REVEAL_SIDE = 1600
MIN_BLUR = 4
MAX_BLUR = 40
DEFAULT_BLUR = 12
MAX_PIXELS = 120_000_000


def clamp_blur(value: int | None) -> int:
    """Bring a requested blur radius into the allowed range (never unblurred).

    Args:
        value: Requested Gaussian radius in tile pixels, or None for the default.

    Returns:
        A radius between ``MIN_BLUR`` and ``MAX_BLUR``.
    """
    if value is None:
        return DEFAULT_BLUR
    return max(MIN_BLUR, min(MAX_BLUR, int(value)))


def _open(data: bytes, side: int, mode: str) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.width * img.height > MAX_PIXELS:
                raise EvidenceError(f"picture of {img.width}x{img.height} is too large to render")
            if img.format == "JPEG":
                # DCT-domain downscaling: far cheaper than decoding full size.
                img.draft(mode, (side, side))
            img.load()
            img = ImageOps.exif_transpose(img)
            img.thumbnail((side, side))
            return img.convert(mode)
    except EvidenceError:
        raise
    except Exception as exc:  # noqa: BLE001 - corrupt pictures become an error reply
        raise EvidenceError(f"cannot decode picture: {exc}") from exc


def _jpeg(img: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality)
    return out.getvalue()


def floor_picture(data: bytes) -> Image.Image:
    """The picture as a tile is allowed to know it: greyscale, at most ``FLOOR_SIDE`` px.

    Args:
        data: The picture's bytes.

    Returns:
        A greyscale picture of at most ``FLOOR_SIDE`` pixels on its long side.

    Raises:
        EvidenceError: If the picture cannot be decoded.
    """
    # Decode near 8x the floor (cheap DCT draft for JPEG), then shrink with a box filter:
    # every floor pixel is the mean of its area, so no aliased fine detail survives.
    img = _open(data, FLOOR_SIDE * 8, "L")
    scale = FLOOR_SIDE / max(img.width, img.height)
    if scale < 1:
        size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        img = img.resize(size, Image.Resampling.BOX)
    return img


def blurred_tile(data: bytes, blur: int | None = None) -> bytes:
    """Render a picture as a greyscale tile: the floor picture enlarged, then blurred.

    Args:
        data: The picture's bytes.
        blur: Gaussian radius in display pixels (clamped; see ``clamp_blur``).

    Returns:
        JPEG bytes, ``TILE_SIDE`` pixels on the long side.

    Raises:
        EvidenceError: If the picture cannot be decoded.
    """
    small = floor_picture(data)
    scale = TILE_SIDE / max(small.width, small.height)
    size = (max(1, round(small.width * scale)), max(1, round(small.height * scale)))
    big = small.resize(size, Image.Resampling.BICUBIC)
    return _jpeg(big.filter(ImageFilter.GaussianBlur(clamp_blur(blur))), 70)


STRIP_HEIGHT = 180
STRIP_GAP = 6


def keyframe_strip(jpegs: list[bytes], blur: int | None = None) -> bytes:
    """A video's stored keyframes side by side, each from its floor picture, blurred.

    Args:
        jpegs: The keyframe thumbnails (JPEG bytes), in time order.
        blur: Gaussian radius in display pixels (clamped).

    Returns:
        One greyscale JPEG, ``STRIP_HEIGHT`` pixels high.

    Raises:
        EvidenceError: If a thumbnail cannot be decoded or there is none.
    """
    if not jpegs:
        raise EvidenceError("the video has no keyframes")
    frames = []
    for data in jpegs:
        small = floor_picture(data)
        width = max(1, round(small.width * STRIP_HEIGHT / small.height))
        frames.append(small.resize((width, STRIP_HEIGHT), Image.Resampling.BICUBIC))
    total = sum(f.width for f in frames) + STRIP_GAP * (len(frames) - 1)
    strip = Image.new("L", (total, STRIP_HEIGHT), 0)
    x = 0
    for f in frames:
        strip.paste(f, (x, 0))
        x += f.width + STRIP_GAP
    return _jpeg(strip.filter(ImageFilter.GaussianBlur(clamp_blur(blur))), 70)


def revealed(data: bytes) -> bytes:
    """Render the unblurred colour picture for an explicit reveal.

    Args:
        data: The picture's bytes.

    Returns:
        JPEG bytes, at most ``REVEAL_SIDE`` pixels on the long side.
    """
    return _jpeg(_open(data, REVEAL_SIDE, "RGB"), 90)


