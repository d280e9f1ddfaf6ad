"""Write grades into the case store, each with who and when, and log them.

Only contents the app shows for review can be graded: unknown pictures, and videos
with keyframes. Undo is its own action: the server keeps, per session and case, what
each grading replaced, and an undo restores exactly that (never a grade of the
client's choosing). Every refusal is written to the case's audit chain.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Engine

from vigil.errors import UsageError
from vigil.hashsets.schemes import Scheme
from vigil.store import audit
from vigil.store.clock import now_text
from vigil.store.schema import grades
from vigil.web.casedata import current_grades, reviewable_ids
from vigil.web.cases import OpenCase

MAX_BULK = 10_000
MAX_ID = 2**62
UNDO_DEPTH = 200


class GradeRefused(UsageError):
    """A grade request the app refuses (bad form, or contents not shown for review)."""


@dataclass(frozen=True)
class GradeRequest:
    """A checked request to grade: content ids and a grade code."""

    content_ids: list[int]
    grade: str


def _ids(value: Any) -> list[int]:
    # bool is an int in Python (and JSON true would become id 1): refuse it explicitly.
    if not isinstance(value, list) or not value or len(value) > MAX_BULK:
        raise GradeRefused(f"content_ids must be a list of 1 to {MAX_BULK} ids")
    if not all(type(i) is int and 1 <= i <= MAX_ID for i in value):
        raise GradeRefused("content_ids must hold positive integer ids")
    return sorted(set(value))


def parse_grade(payload: Any, scheme: Scheme) -> GradeRequest:
    """Check a grading request body: ``{"content_ids": [...], "grade": "<code>"}``.

    Args:
        payload: The decoded JSON body.
        scheme: The grading scheme.

    Returns:
        The request.

    Raises:
        GradeRefused: When keys, types or the grade are wrong.
    """
    if not isinstance(payload, dict) or set(payload) != {"content_ids", "grade"}:
        raise GradeRefused('the body must be {"content_ids": [...], "grade": "<code>"}')
    return GradeRequest(_ids(payload["content_ids"]), grade_code(payload["grade"], scheme))


def grade_code(grade: Any, scheme: Scheme) -> str:
    """Check the ``grade`` of a request body: a code of the scheme.

    Raises:
        GradeRefused: When it is not a string, or not a code of the scheme.
    """
    if not isinstance(grade, str):
        raise GradeRefused("grade must be a code of the scheme (undo is its own action)")
    try:
        scheme.grade(grade)
    except UsageError as exc:
        raise GradeRefused(str(exc)) from exc
    return grade


def json_body(raw: bytes) -> Any:
    """Decode a request body as JSON.

    Raises:
        GradeRefused: When it is not JSON.
    """
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise GradeRefused("the body is not JSON") from exc


def check_reviewable(case: OpenCase, ids: Sequence[int]) -> None:
    """Refuse ids that are not contents the app shows for review in this case.

    Args:
        case: The open case.
        ids: Content ids.

    Raises:
        GradeRefused: Naming up to ten ids that are not reviewable here.
    """
    with case.reader.connect() as conn:
        shown = reviewable_ids(conn, case.case_id, list(ids))
    refused = [c for c in ids if c not in shown]
    if refused:
        raise GradeRefused(f"contents {refused[:10]} are not shown for review in this case")


def log_refusal(engine: Engine, case_id: int, user: str, reason: str, payload: Any) -> None:
    """Append a ``grade-refused`` entry (reason and the request, cut short) to the chain.

    Args:
        engine: The case store's engine.
        case_id: The case.
        user: Who asked.
        reason: Why it was refused.
        payload: The request body as received.
    """
    shown = repr(payload)
    details = {"reason": reason, "request": shown[:500] + ("..." if len(shown) > 500 else "")}
    with engine.begin() as conn:
        audit.append(conn, case_id, user, "grade-refused", details)


def record_grades(
    engine: Engine,
    case_id: int,
    content_ids: Sequence[int],
    scheme: Scheme,
    grade: str | None,
    user: str,
    action: str = "grade",
    series: str | None = None,
) -> list[int]:
    """Grade contents of a case (``None`` clears a grade).

    One transaction writes a grade row per content and one audit entry naming them;
    a series graded as one stack gets one audit entry per member, each naming the
    series.

    Args:
        engine: The case store's engine.
        case_id: The case.
        content_ids: Contents to grade (already checked as reviewable).
        scheme: The grading scheme the grade belongs to.
        grade: A grade code of ``scheme``, or None.
        user: Who grades.
        action: Audit action: ``grade``, ``grade-bulk``, ``grade-series`` or ``grade-undo``.
        series: The id of the series graded as one stack, or None.

    Returns:
        The content ids graded, sorted.

    Raises:
        UsageError: If the grade is not in the scheme or the list is empty or too long.
    """
    if grade is not None:
        scheme.grade(grade)
    ids = sorted({int(c) for c in content_ids})
    if not ids or len(ids) > MAX_BULK:
        raise UsageError(f"grade between 1 and {MAX_BULK} contents at once")
    at = now_text()
    with engine.begin() as conn:
        conn.execute(
            insert(grades),
            [
                {"content_id": c, "scheme": scheme.name, "grade": grade, "user": user, "at": at}
                for c in ids
            ],
        )
        if series is None:
            details = {"contents": ids, "grade": grade, "scheme": scheme.name}
            audit.append(conn, case_id, user, action, details)
        else:
            for c in ids:
                details = {"contents": [c], "grade": grade, "scheme": scheme.name,
                           "series": series}
                audit.append(conn, case_id, user, action, details)
    return ids


@dataclass(frozen=True)
class _Step:
    before: dict[int, str | None]
    grade: str


class UndoLog:
    """Per session and case, what each grading replaced (newest last, bounded)."""

    def __init__(self) -> None:
        self._steps: dict[tuple[str, str], list[_Step]] = defaultdict(list)
        self._lock = threading.Lock()

    def grade(
        self,
        case: OpenCase,
        key: tuple[str, str],
        request: GradeRequest,
        scheme: Scheme,
        user: str,
        series: str | None = None,
    ) -> list[int]:
        """Record a grading and remember what it replaced, for ``undo`` (a series
        stack is one step: undo restores every member)."""
        with case.reader.connect() as conn:
            now = current_grades(conn, case.case_id, request.content_ids)
        action = "grade-bulk" if len(request.content_ids) > 1 else "grade"
        if series is not None:
            action = "grade-series"
        done = record_grades(
            case.engine, case.case_id, request.content_ids, scheme, request.grade, user, action,
            series,
        )
        with self._lock:
            steps = self._steps[key]
            steps.append(_Step({c: now.get(c) for c in done}, request.grade))
            del steps[:-UNDO_DEPTH]
        return done

    def undo(
        self, case: OpenCase, key: tuple[str, str], scheme: Scheme, user: str
    ) -> dict[int, str | None]:
        """Undo this session's newest grading in the case, if nobody graded over it.

        Returns:
            Content id to the grade restored (None: ungraded again).

        Raises:
            GradeRefused: When there is nothing to undo, or a content's grade changed since.
        """
        with self._lock:
            steps = self._steps.get(key)
            if not steps:
                raise GradeRefused("nothing to undo")
            step = steps.pop()
        with case.reader.connect() as conn:
            now = current_grades(conn, case.case_id, list(step.before))
        changed = [c for c in step.before if now.get(c) != step.grade]
        if changed:
            raise GradeRefused(f"contents {changed[:10]} were graded again since; not undone")
        groups: dict[str | None, list[int]] = defaultdict(list)
        for cid, grade in step.before.items():
            groups[grade].append(cid)
        for grade, ids in groups.items():
            record_grades(case.engine, case.case_id, ids, scheme, grade, user, action="grade-undo")
        return dict(step.before)
