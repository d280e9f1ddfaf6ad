"""Query variants for a cropped copy (``uncrop5-y25x25`` ...): the picture put back into
the frame of an assumed original, the cut-away margins filled smoothly.

A copy cropped by 5% of each side is 40-70 bits from its original by PDQ, mostly
because every feature has moved against the frame, not because of the lost margins: put
back at the right place in a frame 5% larger, with the margins filled with a smooth
continuation of the picture (``pdq_tilts.fill``, as PDQ's low frequencies would see
the original there), it comes within 4-26 bits; 10% within about 30 (3 in 4 of them),
20% rarely (so it is not tried: the lab bank's region signatures find those).

The frame is unknown, so the variants assume a crop of ``SHARES`` of each side's length,
cut 1:3, 1:1 or 3:1 between the two ends of each axis (``SPLITS``): 18 variants, each a
fill and a PDQ of a copy reduced to about 128 px on its short side (as the tilts).

Each variant finds almost only crops at its own placement (a 10% variant nothing else;
a 5% one also some of its neighbours'), so the 18 cost 18 fills. By default a scan
queries the ``DEFAULT`` six on the diagonal (the centred cut and the 1:3 and 3:1 cuts
on both axes, for 5% and 10%): a third of the cost, every crop placed there and some
next to them; ``level="all"`` (``vigil scan --pdq-uncrops``) queries all 18
(``docs/benchmarks.md``, issue 17 third pass, for what each finds).
"""

from __future__ import annotations

import itertools
from functools import lru_cache
from typing import Literal

import numpy as np

from vigil.hashing import pdq_core
from vigil.hashing.pdq_tilts import _fill, _plan_for, _reduce

SHARES = (0.05, 0.10)
SPLITS = (0.25, 0.5, 0.75)
# (share, split_y, split_x) of the default variants.
DEFAULT = tuple((share, split, split) for share in SHARES for split in SPLITS)
UncropLevel = Literal["none", "default", "all"]


@lru_cache(maxsize=256)
def _placement(shape: tuple[int, int], share: float, split_y: float, split_x: float):
    """Where a ``shape`` copy sits in its assumed original's frame, and the fill plan."""
    h, w = shape
    big_h, big_w = round(h / (1 - share)), round(w / (1 - share))
    top, left = round((big_h - h) * split_y), round((big_w - w) * split_x)
    valid = np.zeros((big_h, big_w), bool)
    valid[top : top + h, left : left + w] = True
    return (top, left, big_h, big_w), _plan_for(valid)


def placements(level: UncropLevel) -> list[tuple[float, float, float]]:
    """The (share, split_y, split_x) of the assumed crops queried at ``level``."""
    if level == "none":
        return []
    if level == "default":
        return list(DEFAULT)
    return list(itertools.product(SHARES, SPLITS, SPLITS))


def uncrop_variants(grey: np.ndarray, scale: int = 1, level: UncropLevel = "all") -> dict[str, str]:
    """PDQ of the picture in each assumed original's frame, margins filled.

    Args:
        grey: H x W luma array (as decoded, full or reduced).
        scale: reduction factor of ``grey`` against the stored picture.
        level: which assumed crops: ``all`` 18, ``default`` the six of ``DEFAULT``.

    Returns:
        Variant name (``uncrop10-y25x75``: a 10% crop, a quarter of the cut at the top,
        three quarters at the left) to hash.
    """
    chosen = placements(level)
    if not chosen:
        return {}
    small, small_scale = _reduce(grey, scale)
    found = {}
    for share, split_y, split_x in chosen:
        (top, left, big_h, big_w), plan = _placement(small.shape, share, split_y, split_x)
        canvas = np.zeros((big_h, big_w), np.float32)
        canvas[top : top + small.shape[0], left : left + small.shape[1]] = small
        # Whole frames are larger than the copy: the scale PDQ's filter sees is the same.
        block = pdq_core.dct_block(pdq_core.downsample(_fill(canvas, plan), small_scale))
        name = f"uncrop{share * 100:.0f}-y{split_y * 100:.0f}x{split_x * 100:.0f}"
        found[name] = pdq_core.block_to_hex(block)
    return found
