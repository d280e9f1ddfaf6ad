"""Match floods: hash-set entries that match perceptually many *different* pictures.

A flat or low-detail picture in a hash set, or a hash computed from a template (a logo,
a blank page), can lie within PDQ distance of many unrelated pictures. Counting those
matches would put innocent pictures into grade totals. But a collection often holds many
copies of one known picture (resized, recompressed, mirrored, letterboxed), and those
must all be counted. What tells the two apart is where the matched pictures lie: copies
of one picture are near each other, a flood is dispersed around the entry.

So the pictures an entry matches only perceptually are put into *groups* by PDQ distance
among them (``group_pictures``): the picture with the most others within the match
distance (31) of it forms a group with those of them that are also near more than half
of the group, and so on with the rest. Each group is one picture as PDQ sees it. An
entry is *suspect* when its groups number at least ``min_contents`` and cover more
than ``max_share`` of the case's distinct pictures. Its perceptual matches are then kept
on the items, marked ``suspect``, and count towards no grade; the report lists the entry
so an examiner can check it and suppress it (``vigil hashset suppress``). Exact matches
are never suspect: identical bytes are the graded file itself.

A picture is placed by the hash that matched: its own PDQ for the ``original`` variant,
its stored PDQ turned the same way for a rotation or mirror variant (``rotate_hash``). A
picture matched through a variant the stored hash cannot give back (``trimmed``,
``oriented``, a ``tilt``) joins the largest group: it is near the entry, and its
own position is unknown.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from vigil.hashing import pdq_core

# Pictures within the match distance of each other are, to PDQ, the same picture.
GROUP_DISTANCE = 31
# Grouping is quadratic in the matched pictures; past this many an evenly spaced
# sample (by content id) is grouped, which still finds a dispersed flood.
MAX_GROUPED = 2000
_PLACED_VARIANTS = frozenset(pdq_core.DIHEDRAL_NAMES) | {"original"}


@dataclass(frozen=True)
class FloodSettings:
    """When a hash-set entry counts as flooding (both conditions must hold).

    Attributes:
        max_share: Largest share (0..1) of the case's distinct pictures that an entry's
            groups of matched pictures may cover before it is suspect; suspect when
            strictly above.
        min_contents: Fewest groups (mutually different pictures, see
            ``group_pictures``) an entry must match to be suspect, so a small case with
            a few genuine near-duplicates does not trip the share.
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
        ``max_share``, ``min_contents``, ``group_distance``, ``pictures`` and a sentence
        for the reader.
    """
    return {
        "max_share": settings.max_share,
        "min_contents": settings.min_contents,
        "group_distance": GROUP_DISTANCE,
        "pictures": pictures,
        "text": (
            "The pictures a hash-set entry matches perceptually are grouped by PDQ "
            f"distance among them: pictures within {GROUP_DISTANCE} of each other are "
            "one picture as PDQ sees it, such as edited copies of one known picture, "
            "and are all counted. An entry whose matches form at least "
            f"{settings.min_contents} groups, more than {settings.max_share:.2%} of the "
            f"case's {pictures} distinct pictures, matches many different pictures: it "
            "is suspect (a match flood). Its perceptual matches are listed but count "
            "towards no grade, and the pictures stay in the review list. Exact matches "
            "are never suspect."
        ),
    }


def rotate_hash(pdq: str, variant: str) -> str:
    """A picture's PDQ turned by a dihedral variant, from the hash alone.

    The variant's hash proper comes from the DCT block, which the store does not keep;
    turning the bits (a bit above the median taken as a positive coefficient) gives it
    within a few bits (median 4, at most 24 on a generated corpus).

    Args:
        pdq: 64 hex characters.
        variant: One of ``pdq_core.DIHEDRAL_NAMES``.

    Returns:
        The turned hash, 64 hex characters.
    """
    bits = np.unpackbits(np.frombuffer(bytes.fromhex(pdq), np.uint8))[::-1]
    signs = np.where(bits, 1.0, -1.0).astype(np.float32).reshape(16, 16)
    turned = pdq_core.dihedral_blocks(signs)[variant]
    return np.packbits((turned.reshape(-1) > 0)[::-1]).tobytes().hex()


def group_pictures(hashes: list[str], distance: int = GROUP_DISTANCE) -> list[int]:
    """Group pictures by PDQ distance: one group per picture as PDQ sees it.

    Greedy: the picture with the most others within ``distance`` (itself included;
    ties: the first listed) forms a group. The others within ``distance`` of it join,
    nearest first, each only if it is also within ``distance`` of more than half of the
    members so far, so that a picture near the entry cannot gather pictures that are far
    from each other. Repeat with the rest.

    Args:
        hashes: PDQ hashes (64 hex characters).
        distance: Largest distance between pictures of one group (see above).

    Returns:
        The size of each group, largest first.
    """
    if not hashes:
        return []
    words = np.frombuffer(bytes.fromhex("".join(hashes)), dtype=">u8").reshape(-1, 4)
    words = words.astype(np.uint64)
    apart = np.empty((len(hashes), len(hashes)), dtype=np.uint16)
    for start in range(0, len(hashes), 256):
        block = words[start : start + 256, None, :] ^ words[None, :, :]
        apart[start : start + 256] = np.bitwise_count(block).sum(axis=2)
    near = apart <= distance
    left = np.ones(len(hashes), dtype=bool)
    counts = near.sum(axis=1)
    sizes = []
    while left.any():
        centre = int(np.argmax(np.where(left, counts, -1)))
        members = [centre]
        candidates = np.flatnonzero(near[centre] & left)
        for c in candidates[np.argsort(apart[centre, candidates], kind="stable")]:
            if c != centre and 2 * int(near[c, members].sum()) > len(members):
                members.append(int(c))
        sizes.append(len(members))
        left[members] = False
        counts = counts - near[:, members].sum(axis=1)
    return sorted(sizes, reverse=True)


def _groups(placed: list[str], unplaced: int) -> int:
    """How many mutually different pictures an entry matches."""
    if len(placed) > MAX_GROUPED:
        step = len(placed) / MAX_GROUPED
        placed = [placed[int(i * step)] for i in range(MAX_GROUPED)]
    groups = len(group_pictures(placed))
    return groups if groups else int(unplaced > 0)


def check_entries(
    match_rows: dict[int, list[dict[str, Any]]],
    picture_ids: set[int],
    settings: FloodSettings,
    pdq: dict[int, str | None] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The entries that flood the case's pictures, and those that match many copies.

    Args:
        match_rows: Content id to its ``matches`` rows (dicts with ``hashset``,
            ``entry_id``, ``basis``, ``grade``, ``variant``).
        picture_ids: Ids of the case's distinct picture contents.
        settings: The thresholds.
        pdq: Content id to its stored PDQ hash; a picture without one joins the largest
            group (as if matched through an unplaceable variant).

    Returns:
        ``(suspect, copies)``: one dict per entry, sorted by hash set then entry id.
        Suspect entries flood the case. Copies are the entries whose perceptual matches
        are as many as a flood's (at least ``min_contents`` contents, more than
        ``max_share`` of the pictures) but fall into fewer groups: copies of one or a
        few pictures, all counted. Each dict: ``hashset``, ``entry_id``, ``grade``,
        ``contents`` (distinct pictures it matches only perceptually), ``groups``
        (mutually different pictures among them), ``share`` (contents / the case's
        distinct pictures) and ``group_share`` (groups / the case's distinct pictures),
        both with 6 decimals.
    """
    pdq = pdq or {}
    placed: dict[tuple[str, int], list[str]] = defaultdict(list)
    unplaced: dict[tuple[str, int], int] = defaultdict(int)
    matched: dict[tuple[str, int], set[int]] = defaultdict(set)
    grade: dict[tuple[str, int], str | None] = {}
    for content_id in sorted(match_rows):
        if content_id not in picture_ids:
            continue
        rows = match_rows[content_id]
        exact = {(m["hashset"], m["entry_id"]) for m in rows if m["basis"] == "exact"}
        for m in rows:
            key = (m["hashset"], m["entry_id"])
            if m["basis"] != "perceptual" or key in exact or content_id in matched[key]:
                continue
            matched[key].add(content_id)
            grade[key] = m["grade"]
            own, variant = pdq.get(content_id), m.get("variant") or "original"
            if own is None or variant not in _PLACED_VARIANTS:
                unplaced[key] += 1
            else:
                placed[key].append(own if variant == "original" else rotate_hash(own, variant))
    total = len(picture_ids)
    suspect, copies = [], []
    for key in sorted(matched):
        count = len(matched[key])
        if count < settings.min_contents or count / total <= settings.max_share:
            continue  # cannot be suspect whatever its groups: skip the grouping
        groups = _groups(placed[key], unplaced[key])
        found = {
            "hashset": key[0],
            "entry_id": key[1],
            "grade": grade[key],
            "contents": count,
            "groups": groups,
            "share": round(count / total, 6),
            "group_share": round(groups / total, 6),
        }
        floods = groups >= settings.min_contents and groups / total > settings.max_share
        (suspect if floods else copies).append(found)
    return suspect, copies


def mark_suspect_matches(
    match_rows: dict[int, list[dict[str, Any]]], suspects: list[dict[str, Any]]
) -> None:
    """Set ``suspect`` on every match row: True on perceptual matches of a suspect entry.

    Args:
        match_rows: Content id to its match rows; changed in place.
        suspects: The suspect entries from ``check_entries``.
    """
    keys = {(s["hashset"], s["entry_id"]) for s in suspects}
    for rows in match_rows.values():
        for m in rows:
            m["suspect"] = m["basis"] == "perceptual" and (m["hashset"], m["entry_id"]) in keys
