"""Match floods: hash-set entries that match perceptually an unusual share of a case.

A flat or low-detail picture in a hash set, or a hash computed from a template (a logo,
a blank page), can lie within PDQ distance of many unrelated pictures. Counting those
matches would put innocent pictures into grade totals, so an entry whose perceptual
matches cover more than ``max_share`` of the case's distinct pictures *and* at least
``min_contents`` distinct contents is *suspect*: its perceptual matches are kept on the
items, marked ``suspect``, and count towards no grade; the report lists the entry so an
examiner can check it and suppress it (``vigil hashset suppress``). Exact matches are
never suspect: identical bytes are the graded file itself.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FloodSettings:
    """When a hash-set entry counts as flooding (both conditions must hold).

    Attributes:
        max_share: Largest share (0..1) of the case's distinct pictures one entry may
            match perceptually before it is suspect; suspect when strictly above.
        min_contents: Fewest distinct contents an entry must match to be suspect, so a
            small case with one genuine near-duplicate pair does not trip the share.
    """

    max_share: float = 0.01
    min_contents: int = 3

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_share <= 1.0:
            raise ValueError(f"max_share must be between 0 and 1, not {self.max_share}")
        if self.min_contents < 1:
            raise ValueError(f"min_contents must be at least 1, not {self.min_contents}")


def flood_policy(settings: FloodSettings, pictures: int) -> dict[str, Any]:
    """The ``flood_policy`` block of the report: the settings and what they mean.

    Args:
        settings: The thresholds used.
        pictures: Distinct pictures (image contents) in the case.

    Returns:
        ``max_share``, ``min_contents``, ``pictures`` and a sentence for the reader.
    """
    return {
        "max_share": settings.max_share,
        "min_contents": settings.min_contents,
        "pictures": pictures,
        "text": (
            f"A hash-set entry whose perceptual matches cover more than "
            f"{settings.max_share:.2%} of the case's {pictures} distinct pictures and at "
            f"least {settings.min_contents} distinct contents is suspect (a match flood): "
            "its perceptual matches are listed but count towards no grade, and the "
            "pictures stay in the review list. Exact matches are never suspect."
        ),
    }


def find_suspects(
    match_rows: dict[int, list[dict[str, Any]]],
    picture_ids: set[int],
    settings: FloodSettings,
) -> list[dict[str, Any]]:
    """The entries that flood the case's pictures.

    Args:
        match_rows: Content id to its ``matches`` rows (dicts with ``hashset``,
            ``entry_id``, ``basis``, ``grade``).
        picture_ids: Ids of the case's distinct picture contents.
        settings: The thresholds.

    Returns:
        One dict per suspect entry, sorted by hash set then entry id: ``hashset``,
        ``entry_id``, ``grade``, ``contents`` (distinct pictures it matches only
        perceptually) and ``share`` (of the case's distinct pictures, 6 decimals).
    """
    matched: dict[tuple[str, int], set[int]] = defaultdict(set)
    grade: dict[tuple[str, int], str | None] = {}
    for content_id, rows in match_rows.items():
        if content_id not in picture_ids:
            continue
        exact = {(m["hashset"], m["entry_id"]) for m in rows if m["basis"] == "exact"}
        for m in rows:
            key = (m["hashset"], m["entry_id"])
            if m["basis"] == "perceptual" and key not in exact:
                matched[key].add(content_id)
                grade[key] = m["grade"]
    total = len(picture_ids)
    suspects = []
    for key in sorted(matched):
        count = len(matched[key])
        share = count / total
        if count >= settings.min_contents and share > settings.max_share:
            suspects.append(
                {
                    "hashset": key[0],
                    "entry_id": key[1],
                    "grade": grade[key],
                    "contents": count,
                    "share": round(share, 6),
                }
            )
    return suspects


def mark_suspect_matches(
    match_rows: dict[int, list[dict[str, Any]]], suspects: list[dict[str, Any]]
) -> None:
    """Set ``suspect`` on every match row: True on perceptual matches of a suspect entry.

    Args:
        match_rows: Content id to its match rows; changed in place.
        suspects: The entries from ``find_suspects``.
    """
    keys = {(s["hashset"], s["entry_id"]) for s in suspects}
    for rows in match_rows.values():
        for m in rows:
            m["suspect"] = m["basis"] == "perceptual" and (m["hashset"], m["entry_id"]) in keys
