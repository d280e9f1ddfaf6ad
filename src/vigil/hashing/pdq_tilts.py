"""Query variants for a picture turned by a few degrees (``tilt+2`` ... ``tilt-6``).

A copy turned by a small angle (a photo of a screen, a scan, a straightened or
"creatively" tilted copy) is 40-100 bits from the original by PDQ: the black corners an
editor fills in weigh on PDQ's low frequencies as much as the turn itself. For each
assumed angle the picture is turned back, and the corners of both turns (the editor's
and ours) are filled with a smooth continuation of the nearby picture (see ``fill``), as
PDQ's low frequencies would see the original there. Turned back
by the right angle, a copy tilted by 3-5 degrees comes within a few bits of it; 1 degree
off, within about 20-30.

This assumes the editor kept the picture's size (corners filled, nothing cropped), as
most do. The work is done on a copy reduced to about 128 px on its short side (PDQ keeps
a 64 x 64 buffer of the picture: measured on generated photos, the variants then lie
within 1-4 bits of those made at 256 px), so each variant costs a turn, a fill and a
PDQ of that small copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from vigil.hashing import pdq_core

# Assumed tilts in degrees (counter-clockwise positive), 2 apart: every tilt of 1-7
# degrees either way is within 1 degree of one of them.
ANGLES = (-6.0, -4.0, -2.0, 2.0, 4.0, 6.0)
_WORK_SIDE = 128
# Cells of the coarse grid the corners are filled from, on the short side.
_GRID = 32


def _reduce(grey: np.ndarray, scale: int) -> tuple[np.ndarray, int]:
    """Block-mean reduce to about ``_WORK_SIDE`` on the short side; the new scale."""
    factor = max(1, min(grey.shape) // _WORK_SIDE)
    if factor == 1:
        return grey.astype(np.float32, copy=False), scale
    h, w = (grey.shape[0] // factor) * factor, (grey.shape[1] // factor) * factor
    return _block_means(grey[:h, :w].astype(np.float32, copy=False), factor), scale * factor


def _block_means(pixels: np.ndarray, factor: int) -> np.ndarray:
    """Means of ``factor`` x ``factor`` blocks of a float32 array whose sides are
    multiples of ``factor`` (OpenCV's area resize: the exact block mean, much faster
    than numpy's mean over a reshaped view)."""
    h, w = pixels.shape
    size = (w // factor, h // factor)
    return cv2.resize(np.ascontiguousarray(pixels), size, interpolation=cv2.INTER_AREA)


@dataclass(frozen=True)
class _Plan:
    """How to fill the holes of one mask: the coarse grid and the rings to fill."""

    valid: np.ndarray
    cell: int
    counts: np.ndarray
    rings: tuple[tuple[np.ndarray, np.ndarray], ...]  # (cells reached, known neighbours)


def _neighbours(grid: np.ndarray) -> np.ndarray:
    """Sum over each cell's 3 x 3 neighbourhood (zero outside)."""
    return cv2.boxFilter(grid.astype(np.float32), -1, (3, 3), normalize=False,
                         borderType=cv2.BORDER_CONSTANT)  # fmt: skip


def _plan_for(valid: np.ndarray) -> _Plan:
    h, w = valid.shape
    cell = max(1, min(h, w) // _GRID)
    gh, gw = -(-h // cell), -(-w // cell)
    weight = np.zeros((gh * cell, gw * cell), dtype=np.float32)
    weight[:h, :w] = valid
    counts = weight.reshape(gh, cell, gw, cell).sum(axis=(1, 3))
    known = counts > 0
    rings = []
    while known.any() and not known.all():
        many = _neighbours(known.astype(np.float32))
        reached = ~known & (many > 0)
        rings.append((reached, np.maximum(many, 1)))
        known = known | reached
    return _Plan(valid, cell, counts, tuple(rings))


def _fill(pixels: np.ndarray, plan: _Plan) -> np.ndarray:
    h, w = pixels.shape
    gh, gw = plan.counts.shape
    if not plan.counts.any():
        return np.where(plan.valid, pixels, 0.0).astype(np.float32)
    padded = np.zeros((gh * plan.cell, gw * plan.cell), dtype=np.float32)
    padded[:h, :w] = np.where(plan.valid, pixels, 0.0)
    sums = _block_means(padded, plan.cell) * np.float32(plan.cell * plan.cell)
    grid = sums / np.maximum(plan.counts, 1)
    known = plan.counts > 0
    for reached, many in plan.rings:
        near = _neighbours(np.where(known, grid, 0.0))
        grid = np.where(reached, near / many, grid)
        known = known | reached
    size = (gw * plan.cell, gh * plan.cell)
    smooth = cv2.resize(grid.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
    return np.where(plan.valid, pixels, smooth[:h, :w]).astype(np.float32)


def fill(pixels: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Fill the pixels outside ``valid`` with a smooth continuation of the valid ones.

    The valid pixels are averaged into a coarse grid (about 32 cells on the short side);
    empty cells take the mean of their filled neighbours, ring by ring; the grid is
    scaled back up (bilinear) and used where ``valid`` is False. PDQ keeps only low
    frequencies, so a smooth fill is all it needs.

    Args:
        pixels: H x W float array.
        valid: H x W bool array, True where ``pixels`` hold the picture.

    Returns:
        A float32 copy with every invalid pixel replaced.
    """
    return _fill(pixels, _plan_for(valid))


@lru_cache(maxsize=64)
def _plan(shape: tuple[int, int], angle: float) -> _Plan:
    """The fill plan for a same-size copy tilted by ``angle``, once turned back: where it
    still shows the picture (inside both turns' corners)."""
    white = np.full(shape, 255, np.uint8)
    kept = _turn(white, angle)  # the copy's own picture, inside its black corners
    valid = (_turn(kept, -angle) >= 254) & (_turn(white, -angle) >= 254)
    return _plan_for(valid)


def _turn(pixels: np.ndarray, degrees: float) -> np.ndarray:
    """Turn about the centre, counter-clockwise, keeping the size (corners become 0).

    OpenCV's bilinear turn: the same as Pillow's ``rotate`` to rounding, several times
    faster (it was most of the variants' cost).
    """
    h, w = pixels.shape
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), degrees, 1.0)
    return cv2.warpAffine(pixels, matrix, (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)  # fmt: skip


def tilt_variants(grey: np.ndarray, scale: int = 1, angles=ANGLES) -> dict[str, str]:
    """PDQ of the picture turned back by each assumed tilt, corners filled.

    Args:
        grey: H x W luma array (as decoded, full or reduced).
        scale: reduction factor of ``grey`` against the stored picture.
        angles: assumed tilts of the copy against the original, degrees.

    Returns:
        Variant name (``tilt+2`` is a copy turned 2 degrees counter-clockwise) to hash.
    """
    small, small_scale = _reduce(grey, scale)
    # Turned in 8 bits: Pillow turns those several times faster, and PDQ does not see
    # the rounding.
    picture = np.clip(small + 0.5, 0, 255).astype(np.uint8)
    found = {}
    for angle in angles:
        back = _turn(picture, -angle).astype(np.float32)
        buffer = pdq_core.downsample(_fill(back, _plan(small.shape, angle)), small_scale)
        block = pdq_core.dct_block(buffer)
        found[f"tilt{angle:+g}"] = pdq_core.block_to_hex(block)
    return found
