"""What a case shares with other cases in the lab content index: exact and perceptual.

Exact: the same SHA-256 held by another case. Perceptual: a picture of this case whose
PDQ is within the matching distance of a different picture another case holds (both of
usable quality), read from the links stored when the newer of the two entered the lab
(``links``). Everything here is unfiltered; ``access`` decides what a user sees.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from vigil.errors import UsageError
from vigil.hashing.pdq import MATCH_DISTANCE
from vigil.intel import pdq_files
from vigil.intel.links import LINK_DISTANCE, link_pending, links_of
from vigil.web.labschema import intel_contents, intel_holders
from vigil.web.neardup import MIN_QUALITY

_CHUNK = 500
log = logging.getLogger("vigil.intel")


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


def _holders(conn: Connection, case: str, ids: list[int]) -> dict[int, dict[str, list[str]]]:
    """Content id -> case -> sorted exhibits, for every content of ``case`` and ``ids``."""
    found: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    h = intel_holders.c
    of_case = select(h.content_id).where(h.case_name == case)
    queries = [select(h.content_id, h.case_name, h.exhibit).where(h.content_id.in_(of_case))]
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        queries.append(select(h.content_id, h.case_name, h.exhibit).where(h.content_id.in_(chunk)))
    for query in queries:
        for r in conn.execute(query.order_by(h.exhibit)):
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


def _contents_by_id(conn: Connection, ids: list[int]) -> dict[int, Content]:
    found: dict[int, Content] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        rows = conn.execute(select(intel_contents).where(intel_contents.c.id.in_(chunk)))
        found.update((c.id, c) for c in map(_content, rows))
    return found


def links_up_to_date(lab: Engine) -> None:
    """Search whatever content no search has seen yet (``links``), so the stored links are
    complete: the lab's files caught up under their lock, or for a lab without usable
    files (in memory, or a folder this user cannot write) from the lab store."""
    folder = pdq_files.lab_folder(lab)
    if folder is not None:
        try:
            pdq_files.PdqFiles(folder).catch_up(lab)
            return
        except OSError as exc:
            log.warning("lab PDQ files at %s not usable (%s): reading the lab store", folder,
                        exc)
    link_pending(lab, [], None)


def _near_pairs(
    conn: Connection, case: str, mine: dict[int, Content], max_distance: int
) -> list[tuple[int, int, int]]:
    """(my content id, other content id, distance) for different contents within reach.

    Read from the stored links (``links``); pairs with another content of the case itself
    are dropped here, and whether another case still holds the other content is the
    caller's check of its holders.
    """
    of_case = select(intel_holders.c.content_id).where(intel_holders.c.case_name == case)
    return [
        (a, b, d) for a, b, d in links_of(conn, of_case, max_distance)
        if a in mine and b not in mine
    ]


def shared_with_others(
    lab: Engine, case: str, max_distance: int = MATCH_DISTANCE
) -> list[Shared]:
    """Every content of ``case`` that another case holds, exactly or perceptually.

    Args:
        lab: The lab store.
        case: The case name.
        max_distance: Largest PDQ distance that links two pictures (31, PDQ's bar, the
            most the stored links hold).

    Returns:
        One ``Shared`` per linked content, by SHA-256; its links by case, then exact
        before perceptual, then distance.

    Raises:
        UsageError: ``max_distance`` is past what the stored links hold.
    """
    if max_distance > LINK_DISTANCE:
        raise UsageError(
            f"links are stored up to PDQ distance {LINK_DISTANCE}; ask for {LINK_DISTANCE} "
            "or less"
        )
    links_up_to_date(lab)
    with lab.connect() as conn:
        mine = _case_contents(conn, case)
        pairs = _near_pairs(conn, case, mine, max_distance)
        others = _contents_by_id(conn, sorted({p[1] for p in pairs}))
        holders = _holders(conn, case, sorted(others))
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
