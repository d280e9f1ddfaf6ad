"""Video matching: Meta's vPDQ rule between two videos, and known stills inside a video.

The vPDQ rule, as implemented here (``match_video``):

1. On each side keep the frames of quality >= ``quality_floor`` and de-duplicate them
   by hash (distinct hashes only; timestamps and frame numbers play no part).
2. ``query_pct`` = 100 x (distinct query hashes with at least one distinct known hash at
   Hamming distance <= ``distance``) / (distinct query hashes).
   ``compared_pct`` = the same the other way round, over the known video's hashes.
3. ``matched`` when ``query_pct >= 100 x query_match_threshold`` and
   ``compared_pct >= 100 x compared_match_threshold``. A side with no hash left after
   step 1 gives 0 % and never matches.

This follows the vPDQ README's pseudocode (``<=`` distance over unique hashes). Upstream
varies in the details: the C++ ``matchTwoHashBrute`` uses ``< distance`` without
de-duplication, and python-threatexchange has used thresholds of 80 % or 75 % on the
query side and 0 % on the index side. Both thresholds are parameters here; the default
of 80 % on both sides is the stricter reading.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from vigil.model import FrameHash

DEFAULT_DISTANCE = 31
DEFAULT_QUALITY_FLOOR = 50
# Rows of the query compared against all known hashes at once; bounds the scratch array.
_CHUNK = 512

PdqQuery = Callable[[str], Sequence[tuple[int, int]]]


@dataclass(frozen=True)
class VideoMatchResult:
    """Outcome of comparing two videos by the vPDQ rule; percentages are 0-100."""

    query_pct: float
    compared_pct: float
    matched: bool


@dataclass(frozen=True)
class StillSegment:
    """A known still found in consecutive sampled frames of a video.

    ``start`` and ``end`` are the timestamps (seconds) of the first and last sampled
    frame that hit; ``distance`` is the smallest distance seen; ``frames`` how many
    sampled frames hit.
    """

    entry_id: int
    start: float
    end: float
    distance: int
    frames: int


def _distinct_hashes(frames: Iterable[FrameHash], quality_floor: int) -> np.ndarray:
    """Distinct hashes of quality >= floor as an (n, 4) uint64 array."""
    unique = sorted({f.pdq.lower() for f in frames if f.quality >= quality_floor})
    if not unique:
        return np.zeros((0, 4), dtype=np.uint64)
    raw = np.frombuffer(bytes.fromhex("".join(unique)), dtype=">u8")
    return raw.astype(np.uint64).reshape(len(unique), 4)


def _has_partner(left: np.ndarray, right: np.ndarray, distance: int) -> np.ndarray:
    """For each row of ``left``, whether some row of ``right`` is within ``distance``."""
    found = np.zeros(len(left), dtype=bool)
    if len(right) == 0:
        return found
    for start in range(0, len(left), _CHUNK):
        block = left[start : start + _CHUNK]
        bits = np.bitwise_count(block[:, None, :] ^ right[None, :, :]).sum(axis=2)
        found[start : start + _CHUNK] = (bits <= distance).any(axis=1)
    return found


def match_video(
    query_frames: Iterable[FrameHash],
    known_frames: Iterable[FrameHash],
    *,
    distance: int = DEFAULT_DISTANCE,
    quality_floor: int = DEFAULT_QUALITY_FLOOR,
    query_match_threshold: float = 0.8,
    compared_match_threshold: float = 0.8,
) -> VideoMatchResult:
    """Compare a video's frame hashes with a known video's by the vPDQ rule.

    Args:
        query_frames: frame hashes of the video under examination.
        known_frames: frame hashes of the known (hash-set) video.
        distance: largest Hamming distance for two frames to count as the same.
        quality_floor: frames below this PDQ quality are ignored on both sides.
        query_match_threshold: share (0-1) of the query's distinct hashes that must
            have a partner in the known video.
        compared_match_threshold: share (0-1) of the known video's distinct hashes that
            must have a partner in the query.

    Returns:
        Both percentages and whether both thresholds are met.
    """
    query = _distinct_hashes(query_frames, quality_floor)
    known = _distinct_hashes(known_frames, quality_floor)
    if len(query) == 0 or len(known) == 0:
        return VideoMatchResult(0.0, 0.0, False)
    query_hits = int(_has_partner(query, known, distance).sum())
    known_hits = int(_has_partner(known, query, distance).sum())
    matched = (
        query_hits >= query_match_threshold * len(query)
        and known_hits >= compared_match_threshold * len(known)
    )
    return VideoMatchResult(
        100.0 * query_hits / len(query), 100.0 * known_hits / len(known), matched
    )


def stills_in_video(
    frames: Sequence[FrameHash],
    pdq_query_fn: PdqQuery,
    *,
    quality_floor: int = DEFAULT_QUALITY_FLOOR,
) -> list[StillSegment]:
    """Find known still images among a video's sampled frames.

    Each frame of quality >= ``quality_floor`` is looked up with ``pdq_query_fn``.
    Hits of one entry in consecutive sampled frames (in timestamp order) merge into one
    segment; a frame without that hit, or below the quality floor, ends the segment.

    Args:
        frames: the video's sampled frame hashes.
        pdq_query_fn: the still-image index query, ``hash_hex -> [(entry_id, distance)]``.
        quality_floor: frames below this PDQ quality are not looked up.

    Returns:
        The segments, ordered by start time, then entry id.
    """
    ordered = sorted(frames, key=lambda f: f.timestamp)
    open_segments: dict[int, StillSegment] = {}
    closed: list[StillSegment] = []
    cache: dict[str, Sequence[tuple[int, int]]] = {}
    for frame in ordered:
        hits: dict[int, int] = {}
        if frame.quality >= quality_floor:
            key = frame.pdq.lower()
            if key not in cache:
                cache[key] = pdq_query_fn(key)
            for entry_id, dist in cache[key]:
                hits[entry_id] = min(dist, hits.get(entry_id, dist))
        for entry_id in [e for e in open_segments if e not in hits]:
            closed.append(open_segments.pop(entry_id))
        for entry_id, dist in hits.items():
            current = open_segments.get(entry_id)
            if current is None:
                open_segments[entry_id] = StillSegment(
                    entry_id, frame.timestamp, frame.timestamp, dist, 1
                )
            else:
                open_segments[entry_id] = StillSegment(
                    entry_id, current.start, frame.timestamp,
                    min(current.distance, dist), current.frames + 1,
                )
    closed.extend(open_segments.values())
    return sorted(closed, key=lambda s: (s.start, s.entry_id))
