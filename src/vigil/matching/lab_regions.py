"""Region signatures of a lab hash set, beside its PDQ: where the lab bank meets the
hash-set library.

A lab set (pictures graded in review, or imported with their grades) is an ordinary
set of the library: its entries carry PDQ (and MD5/SHA) as any set's do. For each entry
whose picture the lab had decoded, ``LabRegions`` also keeps the picture's region
signature, under ``<library home>/regions/<set name>/`` (a ``RegionIndex``), keyed by
the library's entry id. ``RegionMatcher`` finds, for a decoded query picture, the
entries of the chosen sets whose picture it shows (cropped, turned, letterboxed or
inset) and reports them as the library's other perceptual matches
(``basis="perceptual"``, ``algorithm="orb-regions"``, ``distance`` the centre window's
PDQ distance, ``variant`` the agreeing keypoints, scale and turn).

A review grade adds one picture at a time: rebuilding the index for each would rewrite
it whole, so ``LabRegions.add_pending`` writes the signature beside it
(``<set name>.pending/<entry id>.npz``) and the next ``RegionMatcher`` (the next scan)
folds the pending signatures in, once, under a lock, as a delta segment of the index
(``RegionIndex.append``: the main segment is not rewritten).

The connection for the code that fills a lab set (review grades, graded imports)::

    regions = LabRegions(library, set_name)
    regions.add(entry_id, decoded.pixels)   # entry_id: the entry just written for it
    regions.save()                          # once per batch
    # or, one review grade at a time:
    LabRegions(library, set_name).add_pending(entry_id, decoded.pixels)

and for matching, next to ``PerceptualMatcher``::

    matcher = RegionMatcher(library, names)
    matches = matcher.match_pixels(decoded.pixels)
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from vigil.hashing.regions import RegionSignature, region_signature
from vigil.hashsets.library import HashSetLibrary
from vigil.matching.region_index import RegionIndex
from vigil.model import Match

REGIONS_FOLDER = "regions"
ALGORITHM = "orb-regions"


def region_folder(home: Path, set_name: str) -> Path:
    """Where the region index of set ``set_name`` of the library at ``home`` lives."""
    return home / REGIONS_FOLDER / set_name


def pending_folder(home: Path, set_name: str) -> Path:
    """Where signatures of set ``set_name`` wait to be folded into its index."""
    return home / REGIONS_FOLDER / f"{set_name}.pending"


def region_paths(home: Path, set_name: str) -> list[Path]:
    """Every file or folder the region signatures of set ``set_name`` occupy."""
    base = region_folder(home, set_name)
    names = ("", ".pending", ".lock", ".new", ".old")
    return [base.with_name(base.name + suffix) for suffix in names]


def write_signature(path: Path, signature: RegionSignature) -> None:
    """Write one signature to ``path`` (an ``.npz``), atomically."""
    fresh = path.with_name(path.name + ".part")
    with fresh.open("wb") as out:
        np.savez(
            out,
            size=np.array([signature.width, signature.height, signature.centre_quality]),
            points=signature.points,
            descriptors=signature.descriptors,
            centre=signature.centre,
        )
    os.replace(fresh, path)


def read_signature(path: Path) -> RegionSignature:
    """A signature written by ``write_signature``."""
    with np.load(path) as data:
        width, height, quality = (int(v) for v in data["size"])
        return RegionSignature(
            width, height, data["points"], data["descriptors"], data["centre"], quality
        )


def fold_pending(home: Path, set_name: str) -> None:
    """Fold the pending signatures of a set into its index (once, under a lock: scan
    workers that start together wait for the first to do it)."""
    pending = pending_folder(home, set_name)
    if not pending.is_dir():
        return
    lock = region_paths(home, set_name)[2]
    with lock.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        files = sorted(pending.glob("*.npz"))
        if not files:
            return
        folder = region_folder(home, set_name)
        index = RegionIndex.load(folder) if folder.exists() else RegionIndex()
        for path in files:
            index.add(int(path.stem), read_signature(path))
        index.append(folder)  # a delta segment beside the index, not a rebuild
        for path in files:
            path.unlink()
        # Gone, so that later scans need not take the lock (unless a grade given
        # meanwhile left a signature: it waits for the next scan).
        with contextlib.suppress(OSError):
            pending.rmdir()


class LabRegions:
    """The region index of one lab set, to be filled entry by entry."""

    def __init__(self, library: HashSetLibrary, set_name: str) -> None:
        library.get(set_name)  # the set must exist (raises UsageError otherwise)
        self.folder = region_folder(library.home, set_name)
        self.pending = pending_folder(library.home, set_name)
        self.index = RegionIndex.load(self.folder) if self.folder.exists() else RegionIndex()

    def add(self, entry_id: int, pixels: np.ndarray) -> None:
        """Add the decoded picture of library entry ``entry_id`` (RGB or luma pixels)."""
        self.index.add(entry_id, region_signature(pixels))

    def save(self) -> None:
        """Write the index (replacing the set's previous one)."""
        self.index.save(self.folder)

    def add_pending(self, entry_id: int, pixels: np.ndarray) -> None:
        """Keep the signature of entry ``entry_id``'s picture for the next scan to fold
        in (``fold_pending``), without rewriting the index now."""
        self.pending.mkdir(parents=True, exist_ok=True)
        write_signature(self.pending / f"{entry_id}.npz", region_signature(pixels))


class RegionMatcher:
    """Match decoded pictures against the region indexes of chosen sets."""

    def __init__(self, library: HashSetLibrary, names: Iterable[str] | None) -> None:
        chosen = library.select(list(names) if names is not None else None)
        for info in chosen:
            fold_pending(library.home, info.name)
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
                        algorithm=ALGORITHM,
                        known_good=known_good,
                        distance=m.centre_distance,
                        variant=m.variant,
                    )
                )
        return found
