"""What a case shares with other cases in the lab content index: exact and perceptual.

Exact: the same SHA-256 held by another case. Perceptual: a picture of this case whose
PDQ is within the matching distance of a different picture another case holds (both of
usable quality). Everything here is unfiltered; ``access`` decides what a user sees.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from vigil.hashing.pdq import MATCH_DISTANCE
from vigil.matching.pdq_index import PdqIndex
from vigil.web.labschema import intel_contents, intel_holders
from vigil.web.neardup import MIN_QUALITY

_CHUNK = 500


@dataclass(frozen=True)
class Content:
    """One content of the index."""

    id: int
    sha256: str
    sha1: str
    md5: str
    media: str
    pdq: str | None
    pdq_quality: int | None

    @property
    def perceptual(self) -> bool:
        """Whether its PDQ is good enough to link by (flat pictures match everything)."""
        return bool(self.pdq) and (self.pdq_quality or 0) >= MIN_QUALITY


@dataclass(frozen=True)
class Link:
    """Another case holding the same content, or a near-duplicate of it."""

    case: str
    exhibits: tuple[str, ...]
    basis: str  # "exact" or "perceptual"
    distance: int
    other: Content


@dataclass
class Shared:
    """One content of the case and every link it has to other cases."""

    content: Content
    exhibits: tuple[str, ...]
    links: list[Link] = field(default_factory=list)


def _content(row: object) -> Content:
    r = row._mapping  # type: ignore[attr-defined]
    return Content(
        int(r["id"]), r["sha256"], r["sha1"], r["md5"], r["media"], r["pdq"], r["pdq_quality"]
    )


def _holders(conn: Connection, ids: list[int]) -> dict[int, dict[str, list[str]]]:
    """Content id -> case -> sorted exhibits, for the given contents."""
    found: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        rows = conn.execute(
            select(intel_holders.c.content_id, intel_holders.c.case_name, intel_holders.c.exhibit)
            .where(intel_holders.c.content_id.in_(chunk))
            .order_by(intel_holders.c.exhibit)
        )
        for r in rows:
            found[int(r.content_id)][r.case_name].append(r.exhibit)
    return found


def _case_contents(conn: Connection, case: str) -> dict[int, Content]:
    rows = conn.execute(
        select(intel_contents)
        .where(
            intel_contents.c.id.in_(
                select(intel_holders.c.content_id).where(intel_holders.c.case_name == case)
            )
        )
        .order_by(intel_contents.c.id)
    )
    return {c.id: c for c in map(_content, rows)}


def _other_pictures(conn: Connection, case: str) -> dict[int, Content]:
    """Contents with a PDQ held by at least one other case."""
    rows = conn.execute(
        select(intel_contents)
        .where(
            intel_contents.c.pdq.is_not(None),
            intel_contents.c.pdq_quality >= MIN_QUALITY,
            intel_contents.c.id.in_(
                select(intel_holders.c.content_id).where(intel_holders.c.case_name != case)
            ),
        )
        .order_by(intel_contents.c.id)
    )
    return {c.id: c for c in map(_content, rows)}


def _near_pairs(
    mine: dict[int, Content], others: dict[int, Content], max_distance: int
) -> list[tuple[int, int, int]]:
    """(my content id, other content id, distance) for different contents within reach."""
    queries = [c for c in mine.values() if c.perceptual]
    bank = {i: c for i, c in others.items() if i not in mine}
    if not queries or not bank:
        return []
    index = PdqIndex.build((i, c.pdq or "") for i, c in bank.items())
    hits = index.query_many([c.pdq or "" for c in queries], max_distance)
    return [
        (q.id, other, distance)
        for q, found in zip(queries, hits, strict=True)
        for other, distance in found
    ]


def shared_with_others(
    lab: Engine, case: str, max_distance: int = MATCH_DISTANCE
) -> list[Shared]:
    """Every content of ``case`` that another case holds, exactly or perceptually.

    Args:
        lab: The lab store.
        case: The case name.
        max_distance: Largest PDQ distance that links two pictures (31, PDQ's bar).

    Returns:
        One ``Shared`` per linked content, by SHA-256; its links by case, then exact
        before perceptual, then distance.
    """
    with lab.connect() as conn:
        mine = _case_contents(conn, case)
        others = _other_pictures(conn, case)
        pairs = _near_pairs(mine, others, max_distance)
        holders = _holders(conn, sorted({*mine, *(p[1] for p in pairs)}))
    shared: dict[int, Shared] = {}

    def entry(cid: int) -> Shared:
        if cid not in shared:
            shared[cid] = Shared(mine[cid], tuple(holders[cid].get(case, ())))
        return shared[cid]

    for cid in mine:
        for other_case, exhibits in holders[cid].items():
            if other_case != case:
                entry(cid).links.append(Link(other_case, tuple(exhibits), "exact", 0, mine[cid]))
    for cid, other_id, distance in pairs:
        for other_case, exhibits in holders[other_id].items():
            if other_case != case:
                link = Link(other_case, tuple(exhibits), "perceptual", distance, others[other_id])
                entry(cid).links.append(link)
    for s in shared.values():
        s.links.sort(key=lambda k: (k.case, k.basis != "exact", k.distance, k.other.sha256))
    return sorted(shared.values(), key=lambda s: s.content.sha256)


def cases_by_hash(lab: Engine, column: str, values: list[str]) -> dict[str, set[str]]:
    """Hash value -> the cases holding a content with it, for one hash column.

    Args:
        lab: The lab store.
        column: ``md5``, ``sha1`` or ``sha256``.
        values: Lower-case hex values.

    Returns:
        The values found, each with its cases.
    """
    col = intel_contents.c[column]
    found: dict[str, set[str]] = defaultdict(set)
    with lab.connect() as conn:
        for start in range(0, len(values), _CHUNK):
            chunk = values[start : start + _CHUNK]
            rows = conn.execute(
                select(col.label("value"), intel_holders.c.case_name)
                .join(intel_holders, intel_holders.c.content_id == intel_contents.c.id)
                .where(col.in_(chunk))
            )
            for r in rows:
                found[r.value].add(r.case_name)
    return found
