"""Read classifier results back: the newest run's scores, and every run for the report."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from vigil.store.schema import classifier_runs, scores

NOTE = (
    "Priority scores order the review queue only: they are a prioritisation aid, never a "
    "grade, and no count in this report uses them."
)


def priority_scores(conn: Connection, case_id: int) -> dict[int, float]:
    """Content id to score from the case's newest classifier run (empty if none ran).

    Args:
        conn: Case-store connection.
        case_id: The case.

    Returns:
        The scores of the newest run.
    """
    newest = conn.execute(
        select(classifier_runs.c.id)
        .where(classifier_runs.c.case_id == case_id)
        .order_by(classifier_runs.c.id.desc())
        .limit(1)
    ).scalar()
    if newest is None:
        return {}
    rows = conn.execute(
        select(scores.c.content_id, scores.c.score).where(scores.c.run_id == newest)
    )
    return {int(c): float(s) for c, s in rows}


def runs_json(conn: Connection, case_id: int) -> list[dict[str, Any]]:
    """Every classifier run of the case, oldest first: which model (file SHA-256) ran.

    Args:
        conn: Case-store connection.
        case_id: The case.

    Returns:
        One dict per run.
    """
    rows = conn.execute(
        select(classifier_runs)
        .where(classifier_runs.c.case_id == case_id)
        .order_by(classifier_runs.c.id)
    )
    return [
        {
            "model": r.model_name,
            "model_sha256": r.model_sha256,
            "label": r.label,
            "scored": r.scored,
            "failed": r.failed,
            "user": r.user,
            "at": r.at,
        }
        for r in rows
    ]
