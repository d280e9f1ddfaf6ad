"""Find uniform borders (letterbox, pillarbox, screenshot padding) around a picture.

A copy of a known picture often comes padded: letterboxed into 16:9, pillarboxed
into a phone screenshot, framed in white. PDQ of the padded picture is far from the
original's, so the content inside the borders is hashed as an extra variant.

A border line is a row or column of the luma array in which almost every pixel is
within a tolerance of the colour of the outermost line on that side. The scan walks
inwards from each side independently, so a black letterbox and a white screenshot bar
are both found.
"""

from __future__ import annotations

import numpy as np

# JPEG ringing and noise make a "uniform" bar uneven by a few levels.
DEFAULT_TOLERANCE = 20.0
# Share of pixels in a line allowed to stray (a logo, a timestamp burnt into a bar).
_STRAY_SHARE = 0.02
# The line where a border stops must be mostly unlike the border: a bar ends at an
# edge, while a smooth gradient (a clear sky) only drifts away from its first line.
_EDGE_SHARE = 0.3
# Borders thinner than this share of the side are ignored: they move PDQ very little.
_MIN_SHARE = 0.02
# What is left inside must be at least this share of each side, else the picture
# is itself (nearly) uniform and there is no content to hash.
_MIN_CONTENT = 0.2


def _edge_run(lines: np.ndarray, tolerance: float) -> int:
    """How many leading lines (rows of ``lines``) are a border of the first one's colour.

    Returns 0 when the uniform run does not end at an edge (see ``_EDGE_SHARE``).
    Lines are examined in blocks of doubling size from the edge: most pictures have no
    border, and their first block already ends the search.
    """
    count, width = lines.shape
    reference = float(np.median(lines[0]))
    allowed = max(1, int(width * _STRAY_SHARE))
    start, step = 0, 8
    while start < count:
        strays = (np.abs(lines[start : start + step] - reference) > tolerance).sum(axis=1)
        bad = np.flatnonzero(strays > allowed)
        if bad.size:
            first = int(bad[0])
            return start + first if strays[first] >= _EDGE_SHARE * width else 0
        start += step
        step *= 2
    return count


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
    top = _edge_run(grey, tolerance)
    bottom = height - _edge_run(grey[::-1], tolerance)
    left = _edge_run(grey.T, tolerance)
    right = width - _edge_run(grey.T[::-1], tolerance)
    if bottom - top < _MIN_CONTENT * height or right - left < _MIN_CONTENT * width:
        return None
    # Pad bars are cut off where they end; a trimmed side under the minimum is kept.
    if top < _MIN_SHARE * height:
        top = 0
    if height - bottom < _MIN_SHARE * height:
        bottom = height
    if left < _MIN_SHARE * width:
        left = 0
    if width - right < _MIN_SHARE * width:
        right = width
    if (top, bottom, left, right) == (0, height, 0, width):
        return None
    return top, bottom, left, right
