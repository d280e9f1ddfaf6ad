"""Which frames of a video to hash, decided from packet timestamps before decoding.

Sampling at ``fps`` splits the timeline into intervals of ``1/fps`` seconds and hashes
one frame per interval:

* if a keyframe starts inside the interval, the first such keyframe (decoding it costs
  one packet);
* otherwise the first frame at or after the interval start, which needs the packets of
  its group of pictures (GOP) from the keyframe up to that frame, in decode order.

A GOP's plan needs only its own packet timestamps and those of the neighbouring
keyframes, so the demuxer can buffer one GOP at a time and never feeds the decoder a
packet that no hashed frame depends on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# Float timestamps like 2.9999999 belong to interval 3, not 2.
_EPSILON = 1e-6


def interval_of(time: float, step: float) -> int:
    """Return the index of the sampling interval holding ``time``.

    Args:
        time: presentation time in seconds from the start of the stream.
        step: interval length in seconds (``1/fps``).

    Returns:
        ``floor(time / step)``, tolerant of float rounding.
    """
    return math.floor(time / step + _EPSILON)


@dataclass(frozen=True)
class GopPlan:
    """What to do with one buffered GOP.

    ``feed`` is how many of its packets (in decode order, from the keyframe) go to the
    decoder; ``wanted`` the indexes of the packets whose frames are hashed.
    """

    feed: int
    wanted: frozenset[int]


def plan_gop(
    times: Sequence[float], prev_key: float | None, next_key: float | None, step: float
) -> GopPlan:
    """Plan the decoding of one GOP for sampling at one frame per ``step`` seconds.

    Args:
        times: presentation times (seconds) of the GOP's packets in decode order;
            ``times[0]`` is the keyframe.
        prev_key: time of the previous GOP's keyframe, or None for the first GOP.
        next_key: time of the next GOP's keyframe, or None at the end of the stream.
        step: sampling interval in seconds.

    Returns:
        The packets to feed and the packets whose frames to hash.
    """
    if not times:
        return GopPlan(0, frozenset())
    key_interval = interval_of(times[0], step)
    wanted: set[int] = set()
    if prev_key is None or interval_of(prev_key, step) != key_interval:
        wanted.add(0)
    next_interval = None if next_key is None else interval_of(next_key, step)
    # For each later interval without a keyframe of its own: the earliest frame in it.
    earliest: dict[int, int] = {}
    for index, time in enumerate(times[1:], start=1):
        interval = interval_of(time, step)
        if interval <= key_interval or interval == next_interval:
            continue
        if next_key is not None and time >= next_key:
            continue
        best = earliest.get(interval)
        if best is None or time < times[best]:
            earliest[interval] = index
    wanted.update(earliest.values())
    feed = max(wanted) + 1 if wanted else 0
    return GopPlan(feed, frozenset(wanted))


class LinearSampler:
    """Frame-by-frame selection for streams without usable packet timestamps.

    Picks the first frame at or after the start of each interval not yet sampled.
    """

    def __init__(self, step: float) -> None:
        """Start before the first interval.

        Args:
            step: sampling interval in seconds.
        """
        self._step = step
        self._last_interval: int | None = None

    def take(self, time: float) -> bool:
        """Tell whether the frame at ``time`` is the one to hash for its interval.

        Args:
            time: the frame's presentation time in seconds.

        Returns:
            True the first time a frame of a new, later interval is seen.
        """
        interval = interval_of(time, self._step)
        if self._last_interval is not None and interval <= self._last_interval:
            return False
        self._last_interval = interval
        return True

    def mark(self, time: float) -> None:
        """Record that the interval holding ``time`` has already been sampled.

        Args:
            time: presentation time in seconds of a frame hashed by other means.
        """
        interval = interval_of(time, self._step)
        if self._last_interval is None or interval > self._last_interval:
            self._last_interval = interval
