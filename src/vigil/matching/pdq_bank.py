"""The library's PDQ index files: one per hash set, built at import, mapped by scans.

``<home>/index/pdq-set-<id>.idx`` holds a set's PDQ entries (``PdqIndex`` layout) with
each entry's id and grade code in flat arrays beside the hashes, and the set's identity
in the header. Import writes it (``write_set_index``), removing the set deletes it, and
a scan only maps it (``open_set_index``): no per-entry Python objects, and the worker
processes of a scan share its pages. Suppressed entries stay in the file; the matcher
drops them from the hits (suppression is rare and must not force a rebuild).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vigil.matching.pdq_index import PdqIndex, read_header

INDEX_FOLDER = "index"
_LEGACY = re.compile(r"pdq-[0-9a-f]{32}\.idx")


@dataclass(frozen=True)
class SetIdentity:
    """What ties an index file to one import of one hash set."""

    set_id: int
    name: str
    source_sha256: str
    imported_at: str

    def meta(self) -> dict[str, object]:
        """The identity as stored in the index header."""
        return {
            "set_id": self.set_id,
            "name": self.name,
            "source_sha256": self.source_sha256,
            "imported_at": self.imported_at,
        }


@dataclass(frozen=True)
class SetBank:
    """One hash set's PDQ entries, memory-mapped: the index plus grade names."""

    identity: SetIdentity
    known_good: bool
    index: PdqIndex
    grades: tuple[str | None, ...]

    def grade_of(self, row: int) -> str | None:
        """The grade of the entry at ``row`` of the index."""
        return self.grades[int(self.index.extras["grade"][row])]


def index_path(home: Path, set_id: int) -> Path:
    """Where the PDQ index of set ``set_id`` lives."""
    return Path(home) / INDEX_FOLDER / f"pdq-set-{set_id}.idx"


def write_set_index(
    home: Path,
    identity: SetIdentity,
    ids: np.ndarray,
    codes: np.ndarray,
    grade_codes: np.ndarray,
    grades: list[str | None],
    *,
    extras: dict[str, np.ndarray] | None = None,
    meta: dict[str, object] | None = None,
) -> Path:
    """Write the PDQ index of one set (replacing any older file atomically).

    Args:
        home: the library folder.
        identity: the set's import, recorded in the header.
        ids: entry ids.
        codes: N x 32 uint8 PDQ hashes.
        grade_codes: per-entry index into ``grades``.
        grades: grade names (None: no grade).
        extras: more per-entry arrays (a block set's ``record`` and ``category``).
        meta: more facts for the header.

    Returns:
        The index file.
    """
    path = index_path(home, identity.set_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {**(meta or {}), **identity.meta(), "grades": grades}
    arrays = {"grade": grade_codes, **(extras or {})}
    PdqIndex.write(path, ids, codes, extras=arrays, meta=header)
    _drop_legacy_caches(path.parent)
    # A search of no query checks the written arrays against the compiled search's
    # layout rules, so a bad file fails the import, not a scan.
    PdqIndex.load(path).warm_up()
    return path


def open_set_index(home: Path, identity: SetIdentity, known_good: bool) -> SetBank | None:
    """Map the index file of one set, or None when it is missing or from another import."""
    path = index_path(home, identity.set_id)
    try:
        header, _base = read_header(path)
    except (OSError, ValueError):
        return None
    meta = header.get("meta", {})
    if {key: meta.get(key) for key in identity.meta()} != identity.meta():
        return None
    index = PdqIndex.load(path)
    return SetBank(identity, known_good, index, tuple(meta.get("grades", [])))


def remove_set_index(home: Path, set_id: int) -> None:
    """Delete the index file of a removed set (no error if there is none)."""
    path = index_path(home, set_id)
    path.unlink(missing_ok=True)
    # The note of ``settle_in_large_pages`` for a file the kernel keeps in small pages.
    path.with_name(f"{path.name}.small-pages").unlink(missing_ok=True)


def _drop_legacy_caches(folder: Path) -> None:
    # Earlier versions cached one index per library state at scan time; they can be GBs.
    for path in folder.iterdir():
        if _LEGACY.fullmatch(path.name):
            path.unlink(missing_ok=True)
