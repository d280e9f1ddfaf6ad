"""Series as stacks in the review app: one stack per series, graded at once.

The server forms the series itself (``vigil.series``) on every request: a client names
a series by its id and never lists the members it grades.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from vigil.hashsets.schemes import Scheme
from vigil.series.listing import case_series
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


def stacks(conn: Connection, case_id: int) -> list[Stack]:
    """Every series of the case's unknown pictures, with the grades its members have.

    Args:
        conn: Case-store connection.
        case_id: The case.

    Returns:
        The stacks in ``vigil series`` order.
    """
    found, _pictures = case_series(conn, case_id)
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


def members_of(conn: Connection, case_id: int, series_id: str) -> list[int]:
    """The members of one series of the case, as the server forms it now.

    Raises:
        GradeRefused: When the case has no such series (or too large to grade at once).
    """
    found, _pictures = case_series(conn, case_id)
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
