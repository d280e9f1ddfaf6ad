"""Series as stacks in the review app: one stack per series, graded at once.

The server forms the series itself (``vigil.series``): a client names a series by its
id and never lists the members it grades. ``SeriesCache`` keeps them per case state: the
series are formed again only when the case store changed (an audit entry other than a
review action), the grade counts when a grade was given.
"""

from __future__ import annotations

import re
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from vigil.hashsets.schemes import Scheme
from vigil.series.grouping import Series
from vigil.series.listing import case_series
from vigil.store.schema import audit_log, contents, grades
from vigil.web.casedata import current_grades
from vigil.web.grading import MAX_BULK, GradeRefused, grade_code

SERIES_ID = re.compile(r"^[a-z-]{3,20}-[0-9a-f]{16}$")
# Tiles shown on a stack (the rest of its members are counted, not shown).
SHOWN = 3


@dataclass(frozen=True)
class Stack:
    """One series as the stacks page shows it."""

    id: str
    kind: str
    facts: str
    members: tuple[int, ...]
    grades: dict[str, int]

    @property
    def ungraded(self) -> int:
        """How many members have no grade."""
        return len(self.members) - sum(self.grades.values())


def _facts_text(facts: dict[str, Any]) -> str:
    return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in facts.items() if v is not None)


# Audit actions that change nothing series are formed from (contents, matches, EXIF,
# items): any other entry (a scan's batches, a new exhibit...) forms them again.
REVIEW_ACTIONS = ("reveal", "grade", "grade-bulk", "grade-series", "grade-undo",
                  "grade-refused", "assign", "unassign", "classify")
_CASES_KEPT = 8


class SeriesCache:
    """The series and stacks of the cases the app serves, formed once per case state.

    ``builds`` counts how many times series were formed (what the cache saves).
    """

    def __init__(self) -> None:
        self._kept: OrderedDict[tuple[str, int], dict[str, Any]] = OrderedDict()
        self._lock = threading.RLock()  # stacks() holds it around series()
        self.builds = 0

    def series(self, conn: Connection, case_id: int) -> list[Series]:
        """The case's series as ``case_series`` forms them, formed again only when the
        store changed since."""
        return self._entry(conn, case_id)["series"]

    def stacks(self, conn: Connection, case_id: int) -> list[Stack]:
        """``stacks`` of the case, formed again only when the store or a grade changed."""
        with self._lock:
            entry = self._entry(conn, case_id)
            graded = _grades_state(conn, case_id)
            if entry.get("graded") != graded:
                entry["stacks"] = _stacks(conn, case_id, entry["series"])
                entry["graded"] = graded
            return entry["stacks"]

    def _entry(self, conn: Connection, case_id: int) -> dict[str, Any]:
        key = (conn.engine.url.render_as_string(hide_password=True), case_id)
        state = _store_state(conn, case_id)
        with self._lock:
            entry = self._kept.get(key)
            if entry is None or entry["state"] != state:
                found, _pictures = case_series(conn, case_id)
                self.builds += 1
                entry = {"state": state, "series": found}
                self._kept[key] = entry
            self._kept.move_to_end(key)
            while len(self._kept) > _CASES_KEPT:
                self._kept.popitem(last=False)
            return entry


def _store_state(conn: Connection, case_id: int) -> int:
    """The newest audit entry of the case that is not a review action."""
    return conn.execute(
        select(func.max(audit_log.c.seq)).where(
            audit_log.c.case_id == case_id, audit_log.c.action.not_in(REVIEW_ACTIONS)
        )
    ).scalar() or 0


def _grades_state(conn: Connection, case_id: int) -> int:
    """The newest grade row of the case (grades are only ever appended)."""
    return conn.execute(
        select(func.max(grades.c.id))
        .join(contents, contents.c.id == grades.c.content_id)
        .where(contents.c.case_id == case_id)
    ).scalar() or 0


def stacks(conn: Connection, case_id: int, cache: SeriesCache | None = None) -> list[Stack]:
    """Every series of the case's unknown pictures, with the grades its members have.

    Args:
        conn: Case-store connection.
        case_id: The case.
        cache: Where the app keeps them between requests (None: form them now).

    Returns:
        The stacks in ``vigil series`` order.
    """
    if cache is not None:
        return cache.stacks(conn, case_id)
    found, _pictures = case_series(conn, case_id)
    return _stacks(conn, case_id, found)


def _stacks(conn: Connection, case_id: int, found: list[Series]) -> list[Stack]:
    graded = current_grades(conn, case_id)
    return [
        Stack(
            s.id,
            s.kind,
            _facts_text(s.facts),
            s.members,
            dict(Counter(g for c in s.members if (g := graded.get(c)) is not None)),
        )
        for s in found
    ]


def members_of(
    conn: Connection, case_id: int, series_id: str, cache: SeriesCache | None = None
) -> list[int]:
    """The members of one series of the case, as the server forms it now (from
    ``cache`` when the store has not changed since it formed them).

    Raises:
        GradeRefused: When the case has no such series (or too large to grade at once).
    """
    found = cache.series(conn, case_id) if cache else case_series(conn, case_id)[0]
    for s in found:
        if s.id == series_id:
            if len(s.members) > MAX_BULK:
                raise GradeRefused(f"series {series_id} has over {MAX_BULK} pictures")
            return list(s.members)
    raise GradeRefused(f"no series {series_id!r} in this case")


def parse_stack_grade(payload: Any, scheme: Scheme) -> str:
    """Check a stack grading body: ``{"grade": "<code>"}``; returns the code.

    Raises:
        GradeRefused: When keys, types or the grade are wrong.
    """
    if not isinstance(payload, dict) or set(payload) != {"grade"}:
        raise GradeRefused('the body must be {"grade": "<code>"}')
    return grade_code(payload["grade"], scheme)
