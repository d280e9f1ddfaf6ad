"""Counting under the duplicate policy: representatives and per-grade totals.

One count per distinct content (SHA-256) per exhibit. Of the copies of a content in an
exhibit, one is the representative item: a live copy before a deleted one before a
carved one, then the shallowest (a plain file before an archive member), then by path.
The case total per grade is the sum of the exhibits' distinct counts (a content found
on two exhibits is counted on each); ``distinct`` in the case total also gives the
number of distinct contents across the whole case.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from vigil.report.grading import grade_rank

DUPLICATE_POLICY = (
    "One count per distinct content (SHA-256) per exhibit; every copy is listed as an "
    "item. Of the copies of a content in an exhibit, the representative item is a live "
    "copy before a deleted one before a carved one (then the least nested, then by path). "
    "The total per grade across exhibits is the sum of the exhibits' counts "
    "('per exhibit'); 'distinct' in the total counts a content found on several exhibits "
    "once. Images and videos are counted separately. Known-good items are excluded from "
    "grade counts, and so are matches of suspect hash-set entries (match floods)."
)

MEDIA_KINDS = ("image", "video", "other")
_MEDIA_COLUMN = {"image": "images", "video": "videos", "other": "other"}


def _copy_rank(item: dict[str, Any]) -> tuple[Any, ...]:
    flags = item["flags"]
    state = 2 if flags["carved"] else 1 if flags["deleted"] else 0
    return (state, item.get("depth") or 0, item["path"])


def mark_representatives(items: list[dict[str, Any]]) -> None:
    """Set ``representative`` on every item: True on one copy per content per exhibit.

    Args:
        items: Report items (with ``exhibit``, ``sha256``, ``flags``, ``path``); items
            without content are never representative.
    """
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for it in items:
        it["representative"] = False
        if it["sha256"] is not None:
            groups[(it["exhibit"], it["sha256"])].append(it)
    for copies in groups.values():
        min(copies, key=_copy_rank)["representative"] = True


class _Count:
    """Items and distinct contents, per exhibit so the case total can sum them."""

    def __init__(self) -> None:
        self.items = 0
        self.contents: set[str] = set()
        self.pairs: set[tuple[str, str]] = set()

    def add(self, item: dict[str, Any]) -> None:
        self.items += 1
        self.contents.add(item["sha256"])
        self.pairs.add((item["exhibit"], item["sha256"]))

    def json(self) -> dict[str, int]:
        return {"items": self.items, "distinct": len(self.contents)}


def is_suspect(item: dict[str, Any]) -> bool:
    """Whether the item's only hash-set match is a suspect entry's (a match flood)."""
    return bool(item["match"] and item["match"].get("suspect"))


def item_status(item: dict[str, Any]) -> str:
    """How an item is treated in counts and lists.

    Returns:
        ``unreadable`` (no content), ``graded``, ``known_good``, ``ungraded_match`` (a
        notable set without grades), ``unknown`` (a picture or video to review, also
        when its only match is a suspect entry's) or ``other``.
    """
    if item["sha256"] is None:
        return "unreadable"
    if item["grade"] is not None:
        return "graded"
    if item["known_good"]:
        return "known_good"
    if item["match"] is not None and not is_suspect(item):
        return "ungraded_match"
    if item["media"] in ("image", "video"):
        return "unknown"
    return "other"


def totals(
    items: list[dict[str, Any]], errors: list[dict[str, Any]], per_exhibit: bool = False
) -> dict[str, Any]:
    """Count items and distinct contents per media kind and per grade.

    Args:
        items: Report items, each with ``status`` and ``grade`` already set.
        errors: Report errors of the same scope.
        per_exhibit: Add ``per_exhibit`` to every grade row: per media column, the sum
            of the exhibits' distinct counts; used for the case total.

    Returns:
        The ``totals`` block of the report schema.
    """
    alls, matched, known_good, suspect = _Count(), _Count(), _Count(), _Count()
    lab_review = _Count()  # graded by a match of the lab bank (basis lab-review)
    unknown = {"image": _Count(), "video": _Count()}
    media = {k: _Count() for k in MEDIA_KINDS}
    grades: dict[tuple[str, str], dict[str, _Count]] = {}
    labels: dict[tuple[str, str], str | None] = {}
    for it in items:
        status = it["status"]
        if status == "unreadable":
            continue
        alls.add(it)
        media[it["media"]].add(it)
        if is_suspect(it):
            suspect.add(it)
        elif it["match"] is not None and not it["known_good"]:
            matched.add(it)
        if status == "known_good":
            known_good.add(it)
        elif status == "unknown":
            unknown[it["media"]].add(it)
        elif status in ("graded", "ungraded_match"):
            g = it["grade"] or {
                "scheme": it["match"]["scheme"] or "none",
                "code": "ungraded",
                "label": None,
            }
            key = (g["scheme"] or "none", g["code"])
            labels[key] = g["label"]
            row = grades.setdefault(key, {k: _Count() for k in MEDIA_KINDS})
            row[it["media"]].add(it)
            if it["grade"] and it["grade"]["source"] == "lab-review":
                lab_review.add(it)

    grade_rows = [
        {
            "scheme": scheme,
            "grade": code,
            "label": labels[(scheme, code)],
            **{_MEDIA_COLUMN[k]: row[k].json() for k in MEDIA_KINDS},
            **(
                {"per_exhibit": {_MEDIA_COLUMN[k]: len(row[k].pairs) for k in MEDIA_KINDS}}
                if per_exhibit
                else {}
            ),
        }
        for (scheme, code), row in sorted(
            grades.items(), key=lambda kv: (kv[0][0], grade_rank(kv[0][0], kv[0][1]), kv[0][1])
        )
    ]
    return {
        "items": alls.items,
        "distinct_contents": len(alls.contents),
        "media": {k: media[k].json() for k in MEDIA_KINDS},
        "grades": grade_rows,
        "matched": matched.json(),
        "unknown_images": unknown["image"].json(),
        "unknown_videos": unknown["video"].json(),
        "known_good": known_good.json(),
        "suspect_matches": suspect.json(),
        "lab_review": lab_review.json(),
        "errors": len(errors),
        "unreadable_items": sum(1 for it in items if it["status"] == "unreadable"),
    }
