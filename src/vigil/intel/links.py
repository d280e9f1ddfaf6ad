"""Perceptual links between lab contents, found once, when the newer content enters the lab.

A pair of pictures (both of usable quality, PDQ within ``LINK_DISTANCE``) is searched
for when the newer of the two is added to the lab index, and stored as one
``intel_links`` row (``low_id < high_id``, the two content ids, with the distance), so
``vigil intel`` reads its links instead of searching the whole lab for every content of
the case. The ``links_checked`` mark (``intel_marks``) says how far that has gone: every
content with an id up to it has been searched against every content with a smaller id.

``link_pending`` does the search for every content past the mark: against the lab's PDQ
files (every content up to their ``covered`` id) and against the contents past
``covered`` themselves (read from the lab store, the delta the caller then appends to the
files). A pair is kept only when the other content is the older one, so each pair is found
exactly once. Contents indexed before links existed (the mark at 0 and files covering
them) are caught up the same way, in blocks, on the first call.

Callers hold the lab folder's lock (``pdq_files.PdqFiles.locked``) across adding the
contents and this search, so two exhibits indexed at once cannot miss each other; the mark
is also moved only from the value the search started from (a writer without the lock,
e.g. one whose folder cannot be written, makes the other search again instead of losing
pairs).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection, Engine

from vigil.hashing.pdq import MATCH_DISTANCE
from vigil.intel.pdq_files import search_all, usable_rows
from vigil.matching.pdq_index import PdqIndex
from vigil.store.api import insert_ignore
from vigil.web.lab import writing
from vigil.web.labschema import intel_contents, intel_links, intel_marks

LINK_DISTANCE = MATCH_DISTANCE  # pairs are stored up to PDQ's bar; queries may ask less
MARK = "links_checked"
_CATCH_UP_BLOCK = 1_000_000  # ids per catch-up step for contents indexed before links


class _Moved(Exception):
    """Another writer moved the mark while this search ran: search again."""


@dataclass(frozen=True)
class Pending:
    """What ``link_pending`` did, and the delta for the PDQ files."""

    ids: np.ndarray  # usable contents past ``covered``
    codes: np.ndarray
    rows: int  # all lab-store rows past ``covered`` (usable or not)
    top: int  # the highest content id seen (the files' new ``covered``)
    checked: int  # contents searched
    links: int  # pairs stored
    seconds: float  # spent searching and storing


def checked_upto(conn: Connection) -> int:
    """The ``links_checked`` mark (0 for a lab that never linked)."""
    value = conn.execute(select(intel_marks.c.value).where(intel_marks.c.name == MARK))
    return int(value.scalar() or 0)


def link_pending(lab: Engine, indexes: list[PdqIndex], covered: int | None) -> Pending:
    """Search every content past the mark against every older one; store the pairs.

    Args:
        lab: The lab store.
        indexes: The lab's PDQ file segments (every usable content with id <= covered);
            empty when the lab has no usable files.
        covered: The files' coverage; None for a lab without usable files (every
            content is then read from the store, and no delta is returned).

    Returns:
        The counts, and the usable contents past ``covered`` for the caller to append.
    """
    started = time.perf_counter()
    files = covered is not None
    while True:
        with lab.connect() as conn:
            mark = checked_upto(conn)
            top = int(conn.execute(select(func.max(intel_contents.c.id))).scalar() or 0)
            if not files and mark >= top:
                empty = np.empty(0, np.int64)
                return Pending(empty, np.empty((0, 32), np.uint8), 0, top, 0, 0,
                               time.perf_counter() - started)
            ids, codes, rows = usable_rows(conn, covered or 0, top)
        try:
            checked, links = _search_past(lab, indexes, covered or 0, mark, top, ids, codes)
        except _Moved:
            continue
        return Pending(ids, codes, rows, top, checked, links, time.perf_counter() - started)


def _search_past(
    lab: Engine,
    indexes: list[PdqIndex],
    covered: int,
    mark: int,
    top: int,
    ids: np.ndarray,
    codes: np.ndarray,
) -> tuple[int, int]:
    """(contents searched, pairs stored) for every content in (mark, top]."""
    searched = stored = 0
    # Contents the files already hold but no search has seen (indexed before links).
    start = mark
    while start < covered:
        end = min(start + _CATCH_UP_BLOCK, covered)
        with lab.connect() as conn:
            old_ids, old_codes, _rows = usable_rows(conn, start, end)
        stored += _store(lab, start, end, old_ids, old_codes, indexes)
        searched += len(old_ids)
        start = end
    after = max(mark, covered)
    if top > after:
        fresh = ids > after
        delta = [PdqIndex.from_arrays(ids, codes)] if fresh.any() else []
        stored += _store(lab, after, top, ids[fresh], codes[fresh], indexes + delta)
        searched += int(fresh.sum())
    return searched, stored


def _store(
    lab: Engine,
    after: int,
    upto: int,
    query_ids: np.ndarray,
    query_codes: np.ndarray,
    indexes: list[PdqIndex],
) -> int:
    """Store the pairs of the contents in (after, upto] with older ones; move the mark.

    Raises:
        _Moved: The mark is no longer ``after`` (nothing was stored).
    """
    low = np.empty(0, np.int64)
    high = low
    distances = low
    if len(query_ids) and indexes:
        at, others, distances = search_all(indexes, query_codes, LINK_DISTANCE)
        high = query_ids[at]
        older = others < high
        low, high, distances = others[older], high[older], distances[older]
    with writing(lab) as conn:
        insert_ignore(conn, intel_marks, {"name": MARK, "value": 0}, ["name"])
        moved = conn.execute(
            update(intel_marks)
            .where(intel_marks.c.name == MARK, intel_marks.c.value == after)
            .values(value=upto)
        ).rowcount
        if moved != 1:
            raise _Moved
        if len(low):
            conn.execute(
                intel_links.insert(),
                [
                    {"low_id": a, "high_id": b, "distance": d}
                    for a, b, d in zip(
                        low.tolist(), high.tolist(), distances.tolist(), strict=True
                    )
                ],
            )
    return len(low)


def links_of(
    conn: Connection, case_ids: object, max_distance: int
) -> list[tuple[int, int, int]]:
    """(content id, linked content id, distance) for every stored pair touching the case.

    Args:
        conn: A lab-store connection.
        case_ids: A selectable of the case's content ids.
        max_distance: Largest distance kept (at most ``LINK_DISTANCE``).

    Returns:
        Each pair once per side of it the case holds (a pair with both sides in the
        case comes back twice; the caller drops it).
    """
    k = intel_links.c
    found: list[tuple[int, int, int]] = []
    for mine, other in ((k.low_id, k.high_id), (k.high_id, k.low_id)):
        rows = conn.execute(
            select(mine, other, k.distance).where(
                mine.in_(case_ids), k.distance <= max_distance  # type: ignore[arg-type]
            )
        )
        found.extend((int(a), int(b), int(d)) for a, b, d in rows)
    return found
