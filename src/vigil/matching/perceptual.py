"""Perceptual matching: pictures by PDQ (with query variants), videos by vPDQ.

Built once per scan from a snapshot of the hash-set library. The PDQ index is saved
under ``<home>/index/`` keyed by the library's state and the chosen sets, so it is
rebuilt only when the library changes. Pictures of quality below the floor are never
matched: flat pictures would match everything.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from vigil.hashsets.library import HashSetLibrary
from vigil.matching.pdq_index import PdqIndex
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
        self.entries: dict[int, _Entry] = {}
        bank: list[tuple[int, str]] = []
        for entry_id, set_name, pdq, grade in library.entries_with_pdq(set_names):
            self.entries[entry_id] = _Entry(set_name, grade, known_good[set_name])
            bank.append((entry_id, pdq))
        self.videos = []
        for entry_id, set_name, grade, frames in library.video_entries(set_names):
            self.entries[entry_id] = _Entry(set_name, grade, known_good[set_name])
            self.videos.append((entry_id, frames))
        self.index = _cached_index(library, set_names, bank)

    def __call__(self, h: Hashes) -> list[Match]:
        """Perceptual matches of one content (none for media other than pictures/videos)."""
        if h.media == "image":
            return self.match_picture(h)
        if h.media == "video":
            return self.match_video(list(h.frames))
        return []

    def query(self, pdq: str) -> list[tuple[int, int]]:
        """Bank entries within the match distance of one hash: (entry_id, distance)."""
        if self.index is None:
            return []
        return self.index.query(pdq, self.settings.max_distance)

    def match_picture(self, h: Hashes) -> list[Match]:
        """Matches of a picture's PDQ and its variants, the closest variant per entry."""
        if h.pdq is None or (h.pdq_quality or 0) < self.settings.min_quality:
            return []
        if self.index is None:
            return []
        best: dict[int, tuple[int, str]] = {}
        queries = {"original": h.pdq, **{k: v for k, v in h.pdq_variants.items() if k != "orig"}}
        # All variants in one batched search: much cheaper per hash than one by one.
        hits = self.index.query_many(list(queries.values()), self.settings.max_distance)
        for variant, found in zip(queries, hits, strict=True):
            for entry_id, distance in found:
                if entry_id not in best or distance < best[entry_id][0]:
                    best[entry_id] = (distance, variant)
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


def _cached_index(
    library: HashSetLibrary, names: list[str], bank: list[tuple[int, str]]
) -> PdqIndex | None:
    if not bank:
        return None
    key = hashlib.sha256(f"{library.state()}|{sorted(names)}".encode()).hexdigest()[:32]
    folder = Path(library.home) / "index"
    path = folder / f"pdq-{key}.idx"
    if path.exists():
        return PdqIndex.load(path)
    folder.mkdir(parents=True, exist_ok=True)
    index = PdqIndex.build(bank)
    index.save(path)
    return index
