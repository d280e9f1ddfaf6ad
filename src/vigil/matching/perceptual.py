"""Perceptual matching: pictures by PDQ (with query variants), videos by vPDQ.

Built once per worker from a snapshot of the hash-set library. Each chosen set's PDQ
index file (written at import, see ``pdq_bank``) is memory-mapped, entry metadata
included, so building the matcher costs nothing per entry and the workers of a scan
share the pages. Pictures of quality below the floor are never matched: flat pictures
would match everything.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from vigil.hashsets.library import HashSetLibrary
from vigil.matching.pdq_bank import SetBank
from vigil.matching.pdq_index import hex_to_codes, settle_in_large_pages
from vigil.matching.video import match_video, stills_in_video
from vigil.model import FrameHash, Hashes, Match


@dataclass(frozen=True)
class PerceptualSettings:
    """Thresholds that decide perceptual matches (recorded with every scan)."""

    min_quality: int = 50
    max_distance: int = 31
    video_threshold: float = 0.8


@dataclass(frozen=True)
class _Entry:
    hashset: str
    grade: str | None
    known_good: bool


class PerceptualMatcher:
    """Match pictures and videos against the perceptual entries of chosen hash sets."""

    def __init__(
        self,
        library: HashSetLibrary,
        names: Iterable[str] | None,
        settings: PerceptualSettings | None = None,
    ) -> None:
        self.settings = settings or PerceptualSettings()
        chosen = library.select(list(names) if names is not None else None)
        known_good = {info.name: info.known_good for info in chosen}
        set_names = [info.name for info in chosen]
        self.banks: list[SetBank] = library.pdq_banks(chosen)
        for bank in self.banks:
            if bank.index.path is not None:
                with contextlib.suppress(OSError):  # only speed is at stake
                    settle_in_large_pages(bank.index.path)
        self._suppressed = np.array(sorted(library.suppressed()), dtype=np.int64)
        # Known videos (few) and the PDQ entries found so far: what ``_match`` reports.
        self.entries: dict[int, _Entry] = {}
        self.videos = []
        for entry_id, set_name, grade, frames in library.video_entries(set_names):
            self.entries[entry_id] = _Entry(set_name, grade, known_good[set_name])
            self.videos.append((entry_id, frames))

    def __call__(self, h: Hashes) -> list[Match]:
        """Perceptual matches of one content (none for media other than pictures/videos)."""
        if h.media == "image":
            return self.match_picture(h)
        if h.media == "video":
            return self.match_video(list(h.frames))
        return []

    def search(self, hashes: list[str]) -> list[tuple[int, int, int]]:
        """(query number, entry_id, distance) of every bank entry within the match
        distance of each hash (suppressed entries left out), by query then distance."""
        if not self.banks or not hashes:
            return []
        codes = hex_to_codes(hashes)
        found: list[tuple[int, int, int]] = []
        for bank in self.banks:
            query_at, rows, distances = bank.index.search_codes(codes, self.settings.max_distance)
            ids = bank.index.ids[rows].astype(np.int64)
            keep = ~np.isin(ids, self._suppressed)
            for number, entry_id, row, distance in zip(
                query_at[keep].tolist(),
                ids[keep].tolist(),
                rows[keep].tolist(),
                distances[keep].tolist(),
                strict=True,
            ):
                if entry_id not in self.entries:
                    self.entries[entry_id] = _Entry(
                        bank.identity.name, bank.grade_of(row), bank.known_good
                    )
                found.append((number, entry_id, distance))
        return sorted(found, key=lambda hit: (hit[0], hit[2], hit[1]))

    def query(self, pdq: str) -> list[tuple[int, int]]:
        """Bank entries within the match distance of one hash: (entry_id, distance)."""
        return [(entry_id, distance) for _q, entry_id, distance in self.search([pdq])]

    def match_picture(self, h: Hashes) -> list[Match]:
        """Matches of a picture's PDQ and its variants, the closest variant per entry."""
        if h.pdq is None or (h.pdq_quality or 0) < self.settings.min_quality:
            return []
        best: dict[int, tuple[int, str]] = {}
        queries = {"original": h.pdq, **{k: v for k, v in h.pdq_variants.items() if k != "orig"}}
        # All variants in one batched search: much cheaper per hash than one by one.
        variants = list(queries)
        for number, entry_id, distance in self.search(list(queries.values())):
            if entry_id not in best or distance < best[entry_id][0]:
                best[entry_id] = (distance, variants[number])
        return [
            self._match(entry_id, "pdq", distance=distance, variant=variant)
            for entry_id, (distance, variant) in sorted(best.items())
        ]

    def match_video(self, frames: list[FrameHash]) -> list[Match]:
        """Known videos by the vPDQ rule, and known stills shown inside the video."""
        found = []
        s = self.settings
        for entry_id, known in self.videos:
            result = match_video(
                frames,
                known,
                distance=s.max_distance,
                quality_floor=s.min_quality,
                query_match_threshold=s.video_threshold,
                compared_match_threshold=s.video_threshold,
            )
            if result.matched:
                variant = f"frames {result.query_pct:.0f}% / {result.compared_pct:.0f}%"
                found.append(self._match(entry_id, "vpdq", variant=variant))
        for seg in stills_in_video(frames, self.query, quality_floor=s.min_quality):
            found.append(
                self._match(
                    seg.entry_id,
                    "pdq-frame",
                    distance=seg.distance,
                    variant=f"still {seg.start:.1f}-{seg.end:.1f}s",
                    timestamp=seg.start,
                )
            )
        return found

    def _match(
        self,
        entry_id: int,
        algorithm: str,
        *,
        distance: int | None = None,
        variant: str | None = None,
        timestamp: float | None = None,
    ) -> Match:
        e = self.entries[entry_id]
        return Match(
            hashset=e.hashset,
            entry_id=entry_id,
            grade=e.grade,
            basis="perceptual",
            algorithm=algorithm,
            known_good=e.known_good,
            distance=distance,
            variant=variant,
            timestamp=timestamp,
        )

