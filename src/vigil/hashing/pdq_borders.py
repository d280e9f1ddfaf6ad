"""Find uniform borders (letterbox, pillarbox, screenshot padding) around a picture.

A copy of a known picture often comes padded: letterboxed into 16:9, pillarboxed
into a phone screenshot, framed in white. PDQ of the padded picture is far from the
original's, so the content inside the borders is hashed as an extra variant.

A pad bar is flat: every line of it (a row or column of the luma array) is within a few
levels of the colour of the outermost line, except for a few marks (a status bar's clock,
a logo) on a line whose median stays the bar's colour. The scan walks inwards from each
side and stops at the first line that is not bar. Three rules keep a picture's own flat
parts from being taken for bars:

* the tolerance is tight (a bar is flat to a few levels, noise in a real dark picture
  edge is not), so a bar next to a dark picture edge ends where the picture starts;
* the bar must end at an edge: within a JPEG block of where it stops, the line median
  jumps, or a line has structure of its own. A smooth gradient (a clear sky whose rows
  are flat) only drifts away from its first line and is not a bar;
* bars come in pairs: a side is trimmed only when the opposite side has a bar of the same
  colour too (a letterbox, a pillarbox, a frame, a phone screen), so a flat band of the
  picture's own along one edge (a dark ceiling, a road, a hillside) is kept.
"""

from __future__ import annotations

import numpy as np

# JPEG keeps a flat bar flat to a level or two away from the picture; its ringing next to
# the picture only ends the bar a few lines early.
DEFAULT_TOLERANCE = 6.0
# Share of pixels in a bar line allowed to stray (a speck). Sensor noise in a dark
# picture edge of the bar's colour strays more than this.
_STRAY_SHARE = 0.01
# A line with more strays, up to this share, is still bar when its median is the bar's
# colour and the extra strays are marks, far from it (a status bar's clock and battery
# icon, a burnt-in timestamp), not noise just past the tolerance.
_MARK_SHARE = 0.12
_MARK_CONTRAST = 4.0
_HALO = np.ones(17)
# Where a bar stops, within this many lines (a JPEG block), the line median must jump by
# at least _EDGE_STEP levels within two lines, or a line must have structure (under
# _FLAT_SHARE of its pixels within the tolerance of its median).
_EDGE_LINES = 8
_EDGE_STEP = 3.0
_FLAT_SHARE = 0.7
# ...or the lines after it must be rougher than the bar by this much (median absolute
# deviation from the line median, in levels): sensor noise in a dark picture edge.
_TEXTURE_STEP = 0.5
# Borders thinner than this share of the side are ignored: they move PDQ very little.
_MIN_SHARE = 0.02
# What is left inside must be at least this share of each side, else the picture
# is itself (nearly) uniform and there is no content to hash.
_MIN_CONTENT = 0.2


def _bar_end(lines: np.ndarray, reference: float, tolerance: float) -> int:
    """How many leading lines (rows of ``lines``) are bar of the ``reference`` colour.

    Lines are examined in blocks of doubling size from the edge: most pictures have no
    border, and their first block already ends the search.
    """
    count, width = lines.shape
    allowed = max(1, int(width * _STRAY_SHARE))
    marks = int(width * _MARK_SHARE)
    start, step = 0, 8
    while start < count:
        block = lines[start : start + step]
        away = np.abs(block - reference)
        strayed = away > tolerance
        # Columns near a mark (with the JPEG ringing around it) may stray; the rest of
        # the line must be as flat as a plain bar line.
        marked = np.convolve((away > _MARK_CONTRAST * tolerance).any(axis=0), _HALO, "same")
        faint = (strayed & ~marked.astype(bool)).sum(axis=1)
        medians = np.median(block, axis=1)
        bar = (
            (faint <= allowed)
            & (strayed.sum(axis=1) <= marks)
            & (np.abs(medians - reference) <= tolerance / 2)
        )
        stop = np.flatnonzero(~bar)
        if stop.size:
            return start + int(stop[0])
        start += step
        step *= 2
    return count


def _is_edge(lines: np.ndarray, end: int, tolerance: float) -> bool:
    """Whether the bar ending at line ``end`` ends at an edge (see the module docstring)."""
    # From a line well inside the bar: a reduced decode spreads an edge over two lines.
    inside = max(0, end - 3)
    window = lines[inside : end + _EDGE_LINES]
    medians = np.median(window, axis=1)
    if np.abs(medians[2:] - medians[:-2]).max(initial=0.0) >= _EDGE_STEP:
        return True
    spread = np.abs(window - medians[:, None])
    content = spread[end - inside :]
    flat = (content <= tolerance).mean(axis=1)
    # Texture: a bar is flat to the level, a picture (even a dark, smooth one) is not;
    # the median deviation, so that one object (a sun in a flat sky) is not texture.
    texture = np.median(content, axis=1) - np.median(spread[0])
    return bool((flat < _FLAT_SHARE).any() or (texture >= _TEXTURE_STEP).any())


def _side(lines: np.ndarray, tolerance: float) -> tuple[int, float]:
    """Bar lines on one side (0 when there is no bar ending at an edge) and their colour."""
    reference = float(np.median(lines[0]))
    end = _bar_end(lines, reference, tolerance)
    if 0 < end < len(lines) and not _is_edge(lines, end, tolerance):
        end = 0
    return end, reference


def _pair(near: np.ndarray, tolerance: float, minimum: float) -> tuple[int, int]:
    """Bars on two opposite sides (``near`` and its reverse), kept only as a pair."""
    first, first_colour = _side(near, tolerance)
    second, second_colour = _side(near[::-1], tolerance)
    # Pad bars on both sides are one colour: within JPEG noise, not within the tolerance.
    same = abs(first_colour - second_colour) <= tolerance / 2
    if first < minimum or second < minimum or not same:
        return 0, 0
    return first, second


def find_borders(
    grey: np.ndarray, tolerance: float = DEFAULT_TOLERANCE
) -> tuple[int, int, int, int] | None:
    """Locate the content inside uniform borders.

    Args:
        grey: H x W luma array.
        tolerance: largest difference (in 0..255 luma levels) from the border colour
            that still counts as border.

    Returns:
        The content box as (top, bottom, left, right), bottom/right exclusive, or None
        when there is no border worth trimming or nothing but border.
    """
    height, width = grey.shape
    if height < 8 or width < 8:
        return None
    top, bottom = _pair(grey, tolerance, _MIN_SHARE * height)
    left, right = _pair(grey.T, tolerance, _MIN_SHARE * width)
    bottom, right = height - bottom, width - right
    if bottom - top < _MIN_CONTENT * height or right - left < _MIN_CONTENT * width:
        return None
    if (top, bottom, left, right) == (0, height, 0, width):
        return None
    return top, bottom, left, right
