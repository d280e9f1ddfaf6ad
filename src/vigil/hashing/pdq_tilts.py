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

from functools import lru_cache

import numpy as np
from PIL import Image

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
    blocks = grey[:h, :w].reshape(h // factor, factor, w // factor, factor)
    return blocks.mean(axis=(1, 3), dtype=np.float32), scale * factor


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
    h, w = pixels.shape
    cell = max(1, min(h, w) // _GRID)
    gh, gw = -(-h // cell), -(-w // cell)
    padded = np.zeros((gh * cell, gw * cell), dtype=np.float32)
    weight = np.zeros_like(padded)
    padded[:h, :w] = np.where(valid, pixels, 0.0)
    weight[:h, :w] = valid
    sums = padded.reshape(gh, cell, gw, cell).sum(axis=(1, 3))
    counts = weight.reshape(gh, cell, gw, cell).sum(axis=(1, 3))
    known = counts > 0
    grid = np.where(known, sums / np.maximum(counts, 1), 0.0)
    while not known.all():
        if not known.any():
            return np.where(valid, pixels, 0.0).astype(np.float32)
        total = np.pad(np.where(known, grid, 0.0), 1)
        count = np.pad(known.astype(np.float64), 1)
        near = sum(total[1 + dy : 1 + dy + gh, 1 + dx : 1 + dx + gw]
                   for dy in (-1, 0, 1) for dx in (-1, 0, 1))  # fmt: skip
        many = sum(count[1 + dy : 1 + dy + gh, 1 + dx : 1 + dx + gw]
                   for dy in (-1, 0, 1) for dx in (-1, 0, 1))  # fmt: skip
        reached = ~known & (many > 0)
        grid = np.where(reached, near / np.maximum(many, 1), grid)
        known |= reached
    coarse = Image.fromarray(grid.astype(np.float32), "F")
    smooth = np.asarray(coarse.resize((gw * cell, gh * cell), Image.Resampling.BILINEAR))
    return np.where(valid, pixels, smooth[:h, :w]).astype(np.float32)


@lru_cache(maxsize=64)
def _valid_after_turn_back(shape: tuple[int, int], angle: float) -> np.ndarray:
    """Where a same-size copy tilted by ``angle`` still shows the picture once turned back."""
    ones = np.full(shape, 255.0, dtype=np.float32)
    kept = _turn(ones, angle) >= 254  # the copy's own picture, inside its black corners
    valid = (_turn(kept * ones, -angle) >= 254) & (_turn(ones, -angle) >= 254)
    valid.setflags(write=False)
    return valid


def _turn(values: np.ndarray, degrees: float) -> np.ndarray:
    """Turn about the centre, counter-clockwise, keeping the size (corners become 0).

    In 8 bits: Pillow turns an 8-bit picture several times faster than a float one, and
    PDQ does not see the rounding.
    """
    image = Image.fromarray(np.clip(values + 0.5, 0, 255).astype(np.uint8))
    return np.asarray(image.rotate(degrees, Image.Resampling.BILINEAR), dtype=np.float32)


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
    found = {}
    for angle in angles:
        valid = _valid_after_turn_back(small.shape, angle)
        buffer = pdq_core.downsample(fill(_turn(small, -angle), valid), small_scale)
        block = pdq_core.dct_block(buffer)
        found[f"tilt{angle:+g}"] = pdq_core.block_to_hex(block)
    return found
