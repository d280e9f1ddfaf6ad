"""Write grades into the case store, each with who and when, and log them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert
from sqlalchemy.engine import Engine

from vigil.errors import UsageError
from vigil.hashsets.schemes import Scheme
from vigil.store import audit
from vigil.store.clock import now_text
from vigil.store.schema import grades
from vigil.web.casedata import case_content_ids

MAX_BULK = 10_000


def record_grades(
    engine: Engine,
    case_id: int,
    content_ids: Sequence[int],
    scheme: Scheme,
    grade: str | None,
    user: str,
    action: str = "grade",
) -> list[int]:
    """Grade contents of a case (``None`` clears a grade, as undo does).

    One transaction writes a grade row per content and one audit entry naming them.

    Args:
        engine: The case store's engine.
        case_id: The case.
        content_ids: Contents to grade.
        scheme: The grading scheme the grade belongs to.
        grade: A grade code of ``scheme``, or None.
        user: Who grades.
        action: Audit action: ``grade``, ``grade-bulk`` or ``grade-undo``.

    Returns:
        The content ids graded, sorted.

    Raises:
        UsageError: If the grade is not in the scheme, the list is empty or too long,
            or a content is not in the case.
    """
    if grade is not None:
        scheme.grade(grade)
    ids = sorted({int(c) for c in content_ids})
    if not ids or len(ids) > MAX_BULK:
        raise UsageError(f"grade between 1 and {MAX_BULK} contents at once")
    at = now_text()
    with engine.begin() as conn:
        found = case_content_ids(conn, case_id, ids)
        missing = [c for c in ids if c not in found]
        if missing:
            raise UsageError(f"contents {missing[:10]} are not in this case")
        conn.execute(
            insert(grades),
            [
                {"content_id": c, "scheme": scheme.name, "grade": grade, "user": user, "at": at}
                for c in ids
            ],
        )
        audit.append(
            conn,
            case_id,
            user,
            action,
            {"contents": ids, "grade": grade, "scheme": scheme.name},
        )
    return ids
