"""Review thumbnails of a video: few, small, greyscale and strongly blurred.

The review app shows these so an investigator can recognise a video without being
exposed to its content; they are never detailed enough to grade from.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter

THUMB_SIDE = 256
# Radius relative to a 256 px thumbnail: shapes and layout stay, detail does not.
BLUR_RADIUS = 8
JPEG_QUALITY = 70


class ThumbnailPicker:
    """Keep a bounded, evenly spread set of candidate frames while a video decodes.

    The duration is not always known up front, so candidates are thinned by keeping
    every other one whenever the pool doubles past its limit.
    """

    def __init__(self, count: int) -> None:
        """Prepare to pick ``count`` thumbnails.

        Args:
            count: number of thumbnails wanted; 0 disables the picker.
        """
        self._count = count
        self._limit = max(4 * count, 1)
        self._stride = 1
        self._seen = 0
        self._pool: list[tuple[float, np.ndarray]] = []

    def offer(self, time: float, pixels: np.ndarray) -> None:
        """Offer one decoded frame as a candidate.

        Args:
            time: the frame's timestamp in seconds.
            pixels: the frame as an H x W x 3 RGB or H x W luma uint8 array.
        """
        if self._count == 0:
            return
        seen = self._seen
        self._seen += 1
        if seen % self._stride:
            return
        self._pool.append((time, _shrink(pixels)))
        if len(self._pool) > self._limit:
            self._pool = self._pool[::2]
            self._stride *= 2

    def render(self, rotation: int = 0) -> list[tuple[float, bytes]]:
        """Return the chosen thumbnails as blurred greyscale JPEG bytes.

        Args:
            rotation: display rotation in degrees, counterclockwise, applied to each.

        Returns:
            Up to ``count`` (timestamp, jpeg bytes) pairs in time order.
        """
        if not self._pool or self._count == 0:
            return []
        pool = self._pool
        if len(pool) > self._count:
            picks = np.linspace(0, len(pool) - 1, self._count).round().astype(int)
            pool = [pool[i] for i in sorted(set(picks.tolist()))]
        return [(time, blurred_jpeg(grey, rotation)) for time, grey in pool]


def _shrink(pixels: np.ndarray) -> np.ndarray:
    """Greyscale copy no larger than THUMB_SIDE on its longer side."""
    image = Image.fromarray(pixels).convert("L")
    scale = THUMB_SIDE / max(image.size)
    if scale < 1:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BOX)
    return np.asarray(image)


def blurred_jpeg(grey: np.ndarray, rotation: int = 0) -> bytes:
    """Encode a frame as a small, strongly blurred greyscale JPEG.

    Args:
        grey: uint8 array, H x W luma or H x W x 3 RGB.
        rotation: counterclockwise display rotation in degrees (multiple of 90).

    Returns:
        The JPEG file bytes.
    """
    turns = round(rotation / 90) % 4
    if turns:
        grey = np.ascontiguousarray(np.rot90(grey, k=turns))
    image = Image.fromarray(_shrink(grey)).filter(ImageFilter.GaussianBlur(BLUR_RADIUS))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=JPEG_QUALITY)
    return out.getvalue()
