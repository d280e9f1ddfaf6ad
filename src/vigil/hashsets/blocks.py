"""Hash sets kept as flat arrays in their PDQ index file instead of one row per entry.

A PDQ list carries nothing but a hash, a category and a line number per entry, and a
national list has ~10M of them: one SQLite row each costs ~3 us of insert alone. Such a
set is a *block*: its entries get the ids ``first_id .. first_id + count - 1``
(``entry_block`` table; no ``entry`` rows), and the PDQ index file holds, per entry,
the hash, grade code, category code and source line number (``record``). Listing
(counts per category and grade in the ``hashset`` row), removing (one row and one file),
suppressing (by id range) and matching all work from those. Entry ids of every set are
handed out by ``next_entry_id`` so that rows and blocks never share an id.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vigil.hashsets.schemes import CategoryPolicy

if TYPE_CHECKING:
    # Both import numba: loaded only by an import, not by every library command.
    from vigil.hashsets.formats.pdq_columns import PdqColumns
    from vigil.matching.pdq_bank import SetIdentity

NO_CATEGORY = "none"
# ``entry_block.kind``: entries in the PDQ index file, or in an exact-hash block folder.
PDQ = "pdq"
EXACT = "exact"


@dataclass
class BlockCounts:
    """What a block import counted, for the set's ``hashset`` row."""

    entries: int = 0
    unmapped: int = 0
    source: Counter[str] = field(default_factory=Counter)
    grade: Counter[str] = field(default_factory=Counter)


def next_entry_id(connection: sqlite3.Connection) -> int:
    """The first entry id not used by any row or block of the library."""
    row = connection.execute("SELECT max(id) FROM entry").fetchone()[0] or 0
    block = connection.execute("SELECT max(first_id + count - 1) FROM entry_block").fetchone()
    return max(row, block[0] or 0) + 1


def blocks(connection: sqlite3.Connection) -> dict[int, tuple[int, int]]:
    """``set id -> (first_id, count)`` of every block set (PDQ and exact-hash)."""
    rows = connection.execute("SELECT hashset_id, first_id, count FROM entry_block")
    return {set_id: (first, count) for set_id, first, count in rows}


def exact_blocks(connection: sqlite3.Connection) -> set[int]:
    """Ids of the block sets whose entries are exact hashes (``exact_block`` files)."""
    rows = connection.execute(f"SELECT hashset_id FROM entry_block WHERE kind = '{EXACT}'")
    return {set_id for (set_id,) in rows}


def _smallest(values: np.ndarray, limit: int) -> np.ndarray:
    for dtype in (np.uint8, np.uint16, np.uint32):
        if limit <= np.iinfo(dtype).max:
            return values.astype(dtype)
    return values.astype(np.uint64)


def write_block(
    connection: sqlite3.Connection,
    home: Path,
    identity: SetIdentity,
    columns: PdqColumns,
    policy: CategoryPolicy,
) -> BlockCounts:
    """Grade the entries of ``columns``, write them as the set's index file, record the block.

    Runs inside the import's transaction: the ``entry_block`` row commits with the set.

    Returns:
        The counts for the set's row.

    Raises:
        OSError: The index file cannot be written.
    """
    per_category = np.bincount(columns.category_codes, minlength=len(columns.categories))
    counts, grading = grade_categories(columns.categories, per_category, policy)
    first = next_entry_id(connection)
    write_index(home, identity, columns, first, grading)
    record_block(connection, identity.set_id, first, len(columns), grading, PDQ)
    return counts


def record_block(
    connection: sqlite3.Connection,
    set_id: int,
    first: int,
    count: int,
    grading: dict[str | None, str | None],
    kind: str,
) -> None:
    """Record a block's id range (inside the import's transaction)."""
    connection.execute(
        "INSERT INTO entry_block (hashset_id, first_id, count, grading, kind) "
        "VALUES (?, ?, ?, ?, ?)",
        (set_id, first, count, json.dumps(list(grading.items())), kind),
    )


def grade_categories(
    categories: list[str | None], per_category: np.ndarray, policy: CategoryPolicy
) -> tuple[BlockCounts, dict[str | None, str | None]]:
    """Grade each source category of a block; the counts for its ``hashset`` row.

    Args:
        categories: The block's source categories (None: none given).
        per_category: How many entries carry each of them.
        policy: The import's category-to-grade policy.

    Returns:
        ``(counts, grading)``: the set's counts and its category -> grade map.
    """
    counts = BlockCounts(entries=int(per_category.sum()))
    grading: dict[str | None, str | None] = {}
    for code, category in enumerate(categories):
        grade, unmapped = policy.grade_for(category)
        grading[category] = grade
        many = int(per_category[code])
        if many:
            counts.source[category if category is not None else NO_CATEGORY] += many
            counts.grade[grade if grade is not None else NO_CATEGORY] += many
            counts.unmapped += many * unmapped
    return counts, grading


def grading_of(connection: sqlite3.Connection, set_id: int) -> dict[str | None, str | None]:
    """The category -> grade map a block set was imported with."""
    row = connection.execute(
        "SELECT grading FROM entry_block WHERE hashset_id = ?", (set_id,)
    ).fetchone()
    return {category: grade for category, grade in json.loads(row[0])} if row else {}


def write_index(
    home: Path,
    identity: SetIdentity,
    columns: PdqColumns,
    first: int,
    grading: dict[str | None, str | None],
) -> None:
    """Write the index file of a block set: entries ``first..``, graded by ``grading``.

    Raises:
        KeyError: A category of ``columns`` is not in ``grading``.
        OSError: The file cannot be written.
    """
    from vigil.matching.pdq_bank import write_set_index

    grades = list(dict.fromkeys(grading[category] for category in columns.categories))
    grade_of = np.array(
        [grades.index(grading[category]) for category in columns.categories], dtype=np.uint8
    )
    last = first + len(columns)
    ids = np.arange(first, last, dtype=np.uint32 if last < 2**32 else np.int64)
    extras = {
        "record": columns.records,
        "category": _smallest(columns.category_codes, len(columns.categories)),
    }
    meta = {"categories": columns.categories, "first_id": first}
    write_set_index(
        home, identity, ids, columns.codes, grade_of[columns.category_codes], grades,
        extras=extras, meta=meta,
    )
