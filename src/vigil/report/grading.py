"""Which grade an item carries in the report: hash-set matches and review grades.

Policy (stated in every report): a grade from a hash-set match is authoritative unless a
reviewer has graded the content in the review app; the newest review grade then
overrides it. Both are recorded, so the override is visible. A review row without a
grade (the reviewer looked but gave none) overrides nothing.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from vigil.errors import VigilError
from vigil.hashsets.schemes import load_scheme

GRADE_POLICY = (
    "A grade from a hash-set match is authoritative unless a reviewer has graded the "
    "content; the newest review grade then overrides it, and both are recorded. Where "
    "several hash-set entries match, the most severe grade wins, exact before perceptual, "
    "then the smallest distance. A perceptual match of a suspect entry (a match flood) "
    "gives no grade."
)

_UNRANKED = (99, None, False)


@cache
def severity(scheme: str) -> dict[str, tuple[int, str, bool]]:
    """Rank the grades of a scheme.

    Args:
        scheme: A scheme name (``uk``, ``projectvic``); unknown names give no ranks.

    Returns:
        Grade code to ``(rank, label, indecent)``; rank 0 is the most severe.
    """
    try:
        sch = load_scheme(scheme)
    except VigilError:
        return {}
    return {g.code: (i, g.label, g.indecent) for i, g in enumerate(sch.grades)}


def grade_label(scheme: str | None, code: str | None) -> str | None:
    """The scheme's label of a grade code, or None when unknown."""
    if not scheme or code is None:
        return None
    return severity(scheme).get(code, _UNRANKED)[1]


def grade_rank(scheme: str | None, code: str | None) -> int:
    """Sort rank of a grade (0 most severe; unknown grades last)."""
    if not scheme or code is None:
        return _UNRANKED[0]
    return severity(scheme).get(code, _UNRANKED)[0]


def best_match(rows: list[dict[str, Any]], schemes: dict[str, str]) -> dict[str, Any] | None:
    """The hash-set match that decides a content's grade.

    Args:
        rows: The content's match rows (``matches`` table as dicts).
        schemes: Hash-set name to its grading scheme.

    Returns:
        Any match before a suspect one (``suspect`` set by ``floods``), then notable
        over known-good, graded over ungraded, more severe first, exact before
        perceptual, then the smallest distance; None when there is no match.
    """
    if not rows:
        return None

    def key(m: dict[str, Any]) -> tuple[Any, ...]:
        return (
            bool(m.get("suspect")),
            m["known_good"],
            m["grade"] is None,
            grade_rank(schemes.get(m["hashset"]), m["grade"]),
            m["basis"] != "exact",
            m["distance"] or 0,
            m["hashset"],
            m["entry_id"],
            m["variant"] or "",
            m["timestamp"] or 0.0,
        )

    return sorted(rows, key=key)[0]


def newest_review(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The newest review grade of a content (``grades`` rows), by time then row id."""
    if not rows:
        return None
    return max(rows, key=lambda r: (r["at"], r["id"]))


def effective_grade(
    match: dict[str, Any] | None, review: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The grade an item is counted under.

    Args:
        match: The best hash-set match as put in the report (with ``scheme``), or None.
        review: The newest review grade as put in the report, or None.

    Returns:
        ``{"scheme", "code", "label", "source"}`` with source ``review``, ``hashset``
        or ``lab-review`` (a match of the lab bank: a grade given in an earlier review
        in this lab); None when the item has no grade (unknown, known-good, ungraded match, or a
        match of a suspect entry only).
    """
    if review is not None and review["grade"] is not None:
        return {
            "scheme": review["scheme"],
            "code": review["grade"],
            "label": grade_label(review["scheme"], review["grade"]),
            "source": "review",
        }
    if (
        match is not None
        and not match.get("suspect")
        and not match["known_good"]
        and match["grade"] is not None
    ):
        return {
            "scheme": match["scheme"],
            "code": match["grade"],
            "label": match["grade_label"],
            "source": "lab-review" if match["basis"] == "lab-review" else "hashset",
        }
    return None
