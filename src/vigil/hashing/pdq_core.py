"""The PDQ algorithm in vectorised numpy: luma pixels in, DCT block and quality out.

PDQ (Meta, 2017): luma, a Jarosz tent filter (two box passes) with a window of about
``size / 128`` along each axis, decimation to 64x64, a 16x16 block of the 2-D DCT
without the DC row and column, and one bit per coefficient (above the median or not).
Quality (0..100) is the sum of absolute neighbour differences of the 64x64 buffer.

The filter and the decimation are linear and separable, so they are folded into one
64 x N weight matrix per axis (cached per N) and the whole downsample is two matrix
products in float32. The result matches Meta's float32 C++ core to rounding, which can
flip a bit whose coefficient sits at the median; see ``tests/hashing/test_pdq_core.py``.

Dihedral variants (rotations and mirrors) are derived from the DCT block: mirroring
an axis negates the odd-frequency coefficients of that axis, and a transpose swaps
the block's axes. They are close to, not exactly, the hash of the transformed pixels,
because the decimation grid is not symmetric.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

BUFFER = 64
BLOCK = 16
BITS = BLOCK * BLOCK

# Transforms of the DCT block, named after what they do to the picture. ``rot90`` is a
# counter-clockwise quarter turn (Pillow ``rotate(90, expand=True)``); ``flipx`` mirrors
# about the horizontal axis (top <-> bottom), ``flipy`` about the vertical axis (left
# <-> right), ``flip_diag`` is the transpose and ``flip_antidiag`` the anti-transpose.
DIHEDRAL_NAMES = (
    "orig",
    "rot90",
    "rot180",
    "rot270",
    "flipx",
    "flipy",
    "flip_diag",
    "flip_antidiag",
)

# Coefficient (u, v) has frequency u+1 along rows, v+1 along columns: mirroring an axis
# multiplies it by (-1)**(frequency), i.e. negates the even indices.
_SIGN = np.where(np.arange(BLOCK) % 2 == 0, -1.0, 1.0).astype(np.float32)


def _window(size: int) -> int:
    """Tent-filter box width for one axis, as in the reference (ceil(size / 128))."""
    return (size + 2 * BUFFER - 1) // (2 * BUFFER)


def _box_bounds(size: int, window: int) -> tuple[np.ndarray, np.ndarray]:
    """First and last input index averaged into each output of one box pass."""
    half = (window + 2) // 2
    k = np.arange(size)
    lo = np.maximum(0, k - (window - half))
    hi = np.minimum(size - 1, k + half - 1)
    return lo, hi


@lru_cache(maxsize=256)
def _full_weights(size: int) -> np.ndarray:
    """64 x size matrix: two box passes then decimation, for one axis of ``size`` px."""
    lo, hi = _box_bounds(size, _window(size))
    count = (hi - lo + 1).astype(np.float64)
    picks = ((np.arange(BUFFER) + 0.5) * size / BUFFER).astype(np.int64)
    # Row s of (B @ B) is the mean, over k in the box of s, of the box of k: build it
    # with a difference array so no size x size matrix is ever allocated.
    diff = np.zeros((BUFFER, size + 1), dtype=np.float64)
    for row, s in enumerate(picks):
        ks = np.arange(lo[s], hi[s] + 1)
        amount = 1.0 / (count[s] * count[ks])
        np.add.at(diff[row], lo[ks], amount)
        np.add.at(diff[row], hi[ks] + 1, -amount)
    return np.cumsum(diff[:, :size], axis=1)


@lru_cache(maxsize=512)
def _axis_weights(size: int, scale: int) -> np.ndarray:
    """Weights for an axis of ``size`` px that was reduced by ``scale`` from the original.

    A reduced pixel is (close to) the mean of ``scale`` original pixels, so the filter
    the reference applies at full resolution is folded onto the reduced grid by summing
    its weights over each block. Re-running the filter with windows sized for the small
    picture instead shifts the hash by 10-50 bits. (Modelling the original as a linear
    interpolation of the reduced pixels was tried and drifts more.)
    """
    weights = _full_weights(size * scale).reshape(BUFFER, size, scale).sum(axis=2)
    weights = weights.astype(np.float32)
    weights.setflags(write=False)
    return weights


@lru_cache(maxsize=1)
def _dct_matrix() -> np.ndarray:
    """16 x 64 DCT-II basis without the DC row, scaled as in the reference."""
    i = np.arange(1, BLOCK + 1)[:, None]
    j = np.arange(BUFFER)[None, :]
    matrix = np.sqrt(2.0 / BUFFER) * np.cos(np.pi / 2 / BUFFER * i * (2 * j + 1))
    return matrix.astype(np.float32)


def luma(rgb: np.ndarray) -> np.ndarray:
    """Luma of an H x W x 3 (or 4) uint8 array with the reference weights.

    Args:
        rgb: pixels; channels beyond the third (alpha) are ignored.

    Returns:
        H x W float32 array.
    """
    r = rgb[..., 0].astype(np.float32)
    g = rgb[..., 1].astype(np.float32)
    b = rgb[..., 2].astype(np.float32)
    return np.float32(0.299) * r + np.float32(0.587) * g + np.float32(0.114) * b


@lru_cache(maxsize=512)
def _axis_band(size: int, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """The non-zero band of each row of ``_axis_weights``: (input indices, weights).

    Each of the 64 outputs reads only a tent's width of inputs (7 of 480 rows, 9 of 640
    columns); gathering those instead of multiplying by the mostly-zero 64 x size
    matrix is 2-3x faster, and differs from it by float rounding (about 3e-5 levels).
    """
    weights = _axis_weights(size, scale)
    # The difference-array construction leaves ~1e-17 residues off the band.
    keep = np.abs(weights) > 1e-9
    first = keep.argmax(axis=1)
    last = size - 1 - keep[:, ::-1].argmax(axis=1)
    width = int((last - first).max()) + 1
    index = first[:, None] + np.arange(width)[None, :]
    inside = index <= last[:, None]
    index = np.minimum(index, size - 1)
    band = np.where(inside, weights[np.arange(BUFFER)[:, None], index], 0).astype(np.float32)
    index.setflags(write=False)
    band.setflags(write=False)
    return index, band


def downsample(grey: np.ndarray, scale: int = 1) -> np.ndarray:
    """Tent-filter and decimate a luma array to the 64x64 PDQ buffer.

    Args:
        grey: H x W array of luma values (any real dtype).
        scale: how many original pixels (per axis) each pixel of ``grey`` stands for,
            when it comes from a reduced decode; the filter is the one the reference
            applies to the original.

    Returns:
        64 x 64 float32 array.
    """
    height, width = grey.shape
    row_index, row_band = _axis_band(height, scale)
    col_index, col_band = _axis_band(width, scale)
    pixels = grey.astype(np.float32, copy=False)
    rows = np.einsum("rl,rlw->rw", row_band, pixels[row_index])
    return np.einsum("cl,rcl->rc", col_band, rows[:, col_index])


def quality(buffer: np.ndarray) -> int:
    """PDQ quality 0..100 of a 64x64 buffer: summed neighbour gradients.

    Args:
        buffer: the 64x64 output of ``downsample``.

    Returns:
        Quality; below 50 the hash carries little information.
    """
    # The reference truncates each scaled difference to int before summing.
    vertical = np.trunc((buffer[:-1, :] - buffer[1:, :]) * 100 / 255)
    horizontal = np.trunc((buffer[:, :-1] - buffer[:, 1:]) * 100 / 255)
    total = int(np.abs(vertical).sum() + np.abs(horizontal).sum())
    return min(100, total // 90)


def dct_block(buffer: np.ndarray) -> np.ndarray:
    """16x16 low-frequency DCT coefficients (DC excluded) of a 64x64 buffer."""
    dct = _dct_matrix()
    return dct @ buffer.astype(np.float32, copy=False) @ dct.T


def block_to_hex(block: np.ndarray) -> str:
    """Threshold a 16x16 block at its median and format it as 64 hex characters.

    The order follows the reference's ``Hash256::format()``: bit ``16*u + v`` is set
    when coefficient (u, v) is above the median, and the first hex character holds bits
    255..252.
    """
    values = block.reshape(-1)
    bits = values > np.median(values)
    return np.packbits(bits[::-1]).tobytes().hex()


def dihedral_blocks(block: np.ndarray) -> dict[str, np.ndarray]:
    """The DCT block of each of the 8 rotations/mirrors of the picture.

    Args:
        block: 16x16 block of the picture as stored.

    Returns:
        Name (see ``DIHEDRAL_NAMES``) to 16x16 block.
    """
    flip_rows = _SIGN[:, None] * block  # top <-> bottom
    flip_cols = block * _SIGN[None, :]  # left <-> right
    both = _SIGN[:, None] * block * _SIGN[None, :]
    return {
        "orig": block,
        "rot90": flip_cols.T,  # counter-clockwise: left <-> right, then transpose
        "rot180": both,
        "rot270": flip_rows.T,
        "flipx": flip_rows,
        "flipy": flip_cols,
        "flip_diag": block.T,
        "flip_antidiag": both.T,
    }


def hash_grey(
    grey: np.ndarray, scale: int = 1, gain: float = 1.0, offset: float = 0.0
) -> tuple[np.ndarray, int]:
    """DCT block and quality of a luma array.

    Args:
        grey: H x W luma array, at least 1x1.
        scale: reduction factor of ``grey`` against the original picture (see
            ``downsample``).
        gain: with ``offset``, maps ``grey`` to 0-255 luma (e.g. video-range Y). The
            filter is linear with unit weights, so this is applied to the 64x64 buffer.
        offset: see ``gain``.

    Returns:
        (16x16 float32 DCT block, quality).
    """
    buffer = downsample(grey, scale)
    if gain != 1.0 or offset != 0.0:
        buffer = buffer * np.float32(gain) + np.float32(offset)
    return dct_block(buffer), quality(buffer)
