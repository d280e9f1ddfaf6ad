"""Region signatures of a lab hash set, beside its PDQ: where the lab bank meets the
hash-set library.

A lab set (pictures graded in review, or imported with their grades) is an ordinary
set of the library: its entries carry PDQ (and MD5/SHA) as any set's do. For each entry
whose picture the lab had decoded, ``LabRegions`` also keeps the picture's region
signature, under ``<library home>/regions/<set name>/`` (a ``RegionIndex``), keyed by
the library's entry id. ``RegionMatcher`` finds, for a decoded query picture, the
entries of the chosen sets whose picture it shows (cropped, turned, letterboxed or
inset) and reports them as the library's other perceptual matches
(``basis="perceptual"``, ``algorithm="regions"``).

The connection for the code that fills a lab set (review grades, graded imports)::

    regions = LabRegions(library, set_name)
    regions.add(entry_id, decoded.pixels)   # entry_id: the entry just written for it
    regions.save()                          # once per batch

and for matching, next to ``PerceptualMatcher``::

    matcher = RegionMatcher(library, names)
    matches = matcher.match_pixels(decoded.pixels)
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from vigil.hashing.regions import region_signature
from vigil.hashsets.library import HashSetLibrary
from vigil.matching.region_index import RegionIndex
from vigil.model import Match

REGIONS_FOLDER = "regions"


def region_folder(home: Path, set_name: str) -> Path:
    """Where the region index of set ``set_name`` of the library at ``home`` lives."""
    return home / REGIONS_FOLDER / set_name


class LabRegions:
    """The region index of one lab set, to be filled entry by entry."""

    def __init__(self, library: HashSetLibrary, set_name: str) -> None:
        library.get(set_name)  # the set must exist (raises UsageError otherwise)
        self.folder = region_folder(library.home, set_name)
        self.index = RegionIndex.load(self.folder) if self.folder.exists() else RegionIndex()

    def add(self, entry_id: int, pixels: np.ndarray) -> None:
        """Add the decoded picture of library entry ``entry_id`` (RGB or luma pixels)."""
        self.index.add(entry_id, region_signature(pixels))

    def save(self) -> None:
        """Write the index (replacing the set's previous one)."""
        self.index.save(self.folder)


class RegionMatcher:
    """Match decoded pictures against the region indexes of chosen sets."""

    def __init__(self, library: HashSetLibrary, names: Iterable[str] | None) -> None:
        chosen = library.select(list(names) if names is not None else None)
        self.indexes: list[tuple[str, RegionIndex]] = [
            (info.name, RegionIndex.load(region_folder(library.home, info.name)))
            for info in chosen
            if region_folder(library.home, info.name).exists()
        ]
        known_good = {info.name: info.known_good for info in chosen}
        wanted = [name for name, _ in self.indexes]
        # Suppressed entries are left out here, as in the PDQ matcher.
        self.entries: dict[int, tuple[str, str | None, bool]] = {
            entry_id: (set_name, grade, known_good[set_name])
            for entry_id, set_name, _pdq, grade in (
                library.entries_with_pdq(wanted) if wanted else ()
            )
        }

    def match_pixels(self, pixels: np.ndarray) -> list[Match]:
        """The entries whose picture ``pixels`` shows, strongest first."""
        found = []
        for _name, index in self.indexes:
            for m in index.query(pixels):
                if m.entry_id not in self.entries:
                    continue
                set_name, grade, known_good = self.entries[m.entry_id]
                found.append(
                    Match(
                        hashset=set_name,
                        entry_id=m.entry_id,
                        grade=grade,
                        basis="perceptual",
                        algorithm="regions",
                        known_good=known_good,
                        distance=m.centre_distance,
                        variant=m.variant,
                    )
                )
        return found
