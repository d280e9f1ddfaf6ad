"""Read the case store for the review app: overview, grading queue, item detail.

"Unknown" pictures are contents with no hash-set match at all: those are the ones a
person grades. Contents with a match are shown as metadata only, never as pictures.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.engine import Connection

from vigil.classify.scores import priority_scores
from vigil.model import MEMBER_SEP, OFFSET_SEP, locator_from_text
from vigil.names import unescape_name
from vigil.sources.reopen import RecordedTop
from vigil.store.schema import contents, exhibits, grades, items, matches, scans, thumbnails
from vigil.web.neardup import near_groups, neighbours, usable


@dataclass(frozen=True)
class ExhibitRow:
    """One exhibit of the case with its item count."""

    name: str
    evidence_path: str
    evidence_kind: str
    items: int


@dataclass
class Overview:
    """What the case overview page shows."""

    exhibits: list[ExhibitRow]
    graded: dict[str, int]
    known: dict[str, int]
    unknown_total: int
    unknown_left: int


@dataclass(frozen=True)
class QueueEntry:
    """One unknown picture (or video keyframe set) in the grading queue."""

    content_id: int
    media: str
    grade: str | None
    group: tuple[int, ...] = ()


@dataclass(frozen=True)
class Source:
    """Where to re-open a content's bytes: its exhibit's evidence and the item path."""

    evidence_path: str
    evidence_kind: str
    item_path: str
    media: str = "image"
    # Its top-level item in a forensic image as recorded (opened by its locator).
    top: RecordedTop | None = None
    # The scan's password file of an encrypted iOS backup.
    password_file: str | None = None


@dataclass
class Detail:
    """What the item detail page shows for one content."""

    content: dict
    items: list[dict]
    matches: list[dict]
    history: list[dict]
    near: list[tuple[int, int]] = field(default_factory=list)
    known: bool = False


def current_grades(
    conn: Connection, case_id: int, ids: list[int] | None = None
) -> dict[int, str | None]:
    """The newest grade row per content of the case (None means cleared).

    Args:
        conn: Case-store connection.
        case_id: The case.
        ids: Only these contents (default: every content of the case).

    Returns:
        Content id to grade code or None.
    """
    where = contents.c.case_id == case_id
    if ids is not None:
        where = where & grades.c.content_id.in_(ids)
    newest = (
        select(func.max(grades.c.id).label("id"))
        .join(contents, contents.c.id == grades.c.content_id)
        .where(where)
        .group_by(grades.c.content_id)
        .subquery()
    )
    rows = conn.execute(
        select(grades.c.content_id, grades.c.grade).join(newest, newest.c.id == grades.c.id)
    )
    return {int(r.content_id): r.grade for r in rows}


def _matched_ids(conn: Connection, case_id: int) -> set[int]:
    rows = conn.execute(
        select(matches.c.content_id)
        .join(contents, contents.c.id == matches.c.content_id)
        .where(contents.c.case_id == case_id)
        .distinct()
    )
    return {int(r.content_id) for r in rows}


def is_known(conn: Connection, content_id: int) -> bool:
    """Whether a content has any hash-set match (then it is never shown as a picture).

    Args:
        conn: Case-store connection.
        content_id: The content.

    Returns:
        True when matched.
    """
    return (
        conn.execute(
            select(matches.c.id).where(matches.c.content_id == content_id).limit(1)
        ).first()
        is not None
    )


def unknown_pictures(
    conn: Connection, case_id: int
) -> list[tuple[int, str, str | None, int | None]]:
    """Contents to grade: pictures, and videos with keyframe thumbnails, with no match.

    Args:
        conn: Case-store connection.
        case_id: The case.

    Returns:
        ``(content_id, media, pdq, pdq_quality)`` by content id.
    """
    rows = conn.execute(
        select(contents.c.id, contents.c.media, contents.c.pdq, contents.c.pdq_quality)
        .where(_reviewable(case_id))
        .order_by(contents.c.id)
    ).all()
    known = _matched_ids(conn, case_id)
    return [(int(r.id), r.media, r.pdq, r.pdq_quality) for r in rows if int(r.id) not in known]


def queue(conn: Connection, case_id: int) -> list[QueueEntry]:
    """The grading queue with current grades and near-duplicate groups.

    Args:
        conn: Case-store connection.
        case_id: The case.

    Returns:
        Queue entries by content id; after a classifier run (``vigil classify``), by
        its priority score, highest first (unscored entries last, by content id).
    """
    pictures = unknown_pictures(conn, case_id)
    graded = current_grades(conn, case_id)
    hashes = {cid: pdq for cid, media, pdq, q in pictures if media == "image" and usable(pdq, q)}
    groups = near_groups(hashes)
    entries = [
        QueueEntry(cid, media, graded.get(cid), tuple(groups.get(cid, ())))
        for cid, media, _pdq, _q in pictures
    ]
    priority = priority_scores(conn, case_id)
    if priority:
        entries.sort(key=lambda e: (e.content_id not in priority, -priority.get(e.content_id, 0)))
    return entries


def overview(conn: Connection, case_id: int) -> Overview:
    """Exhibits, counts per grade, and how many unknown pictures are left to grade.

    Args:
        conn: Case-store connection.
        case_id: The case.

    Returns:
        The overview.
    """
    item_counts = dict(
        conn.execute(select(items.c.exhibit_id, func.count()).group_by(items.c.exhibit_id)).all()
    )
    ex_rows = [
        ExhibitRow(r.name, r.evidence_path, r.evidence_kind, int(item_counts.get(r.id, 0)))
        for r in conn.execute(
            select(exhibits).where(exhibits.c.case_id == case_id).order_by(exhibits.c.name)
        )
    ]
    pictures = unknown_pictures(conn, case_id)
    graded = current_grades(conn, case_id)
    unknown_ids = {cid for cid, *_ in pictures}
    counts = Counter(g for cid, g in graded.items() if cid in unknown_ids and g is not None)
    known = Counter(
        r.grade or "uncategorised"
        for r in conn.execute(
            select(matches.c.content_id, func.min(matches.c.grade).label("grade"))
            .join(contents, contents.c.id == matches.c.content_id)
            .where(contents.c.case_id == case_id, matches.c.known_good.is_(False))
            .group_by(matches.c.content_id)
        )
    )
    left = sum(1 for cid in unknown_ids if graded.get(cid) is None)
    return Overview(ex_rows, dict(counts), dict(known), len(unknown_ids), left)


def standing(conn: Connection, case_id: int, content_id: int) -> str:
    """In one query: ``missing`` (not in this case), ``known`` (a hash set matches) or ``unknown``.

    Args:
        conn: Case-store connection.
        case_id: The case.
        content_id: The content.

    Returns:
        The standing.
    """
    known = select(matches.c.id).where(matches.c.content_id == content_id).exists()
    row = conn.execute(
        select(known.label("known")).where(
            contents.c.id == content_id, contents.c.case_id == case_id
        )
    ).first()
    if row is None:
        return "missing"
    return "known" if row.known else "unknown"


def source(conn: Connection, case_id: int, content_id: int) -> Source | None:
    """Where to re-open a content of the case (allocated, uncarved items first).

    Args:
        conn: Case-store connection.
        case_id: The case.
        content_id: The content.

    Returns:
        The source, or None when the content is not in this case.
    """
    row = conn.execute(
        select(exhibits.c.id, exhibits.c.evidence_path, exhibits.c.evidence_kind, items.c.path,
               contents.c.media)
        .join(items, items.c.exhibit_id == exhibits.c.id)
        .join(contents, contents.c.id == items.c.content_id)
        .where(contents.c.id == content_id, contents.c.case_id == case_id)
        .order_by(items.c.carved, items.c.deleted, items.c.depth, items.c.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    settings = json.loads(conn.execute(
        select(scans.c.settings).where(scans.c.exhibit_id == row.id)
        .order_by(scans.c.id.desc()).limit(1)
    ).scalar() or "{}")
    # The store holds names in display form; the evidence is opened by the exact names.
    return Source(
        unescape_name(row.evidence_path), row.evidence_kind, unescape_name(row.path), row.media,
        _recorded_top(conn, row.id, row.path, bool(settings.get("vss"))),
        settings.get("password_file") or None,
    )


def _recorded_top(
    conn: Connection, exhibit_id: int, path: str, vss: bool
) -> RecordedTop | None:
    """The top-level item holding ``path`` (display form) if the store has its locator
    (a forensic image's); ``vss``: whether the exhibit's scan read VSS stores."""
    cuts = [i for i, ch in enumerate(path) if ch in (MEMBER_SEP, OFFSET_SEP)]
    found = conn.execute(
        select(items.c.path, items.c.size, items.c.locator).where(
            items.c.exhibit_id == exhibit_id, items.c.depth == 0,
            items.c.path.in_([path, *(path[:i] for i in cuts)]), items.c.locator.is_not(None),
        ).limit(1)
    ).first()
    if found is None:
        return None
    return RecordedTop(unescape_name(found.path), found.size, locator_from_text(found.locator),
                       vss)


def keyframes(conn: Connection, content_id: int, limit: int = 8) -> list[bytes]:
    """The stored (already blurred, greyscale) keyframes of a video, in time order.

    Args:
        conn: Case-store connection.
        content_id: The video content.
        limit: At most this many.

    Returns:
        JPEG bytes of each; empty for a picture.
    """
    rows = conn.execute(
        select(thumbnails.c.jpeg)
        .where(thumbnails.c.content_id == content_id)
        .order_by(thumbnails.c.timestamp)
        .limit(limit)
    )
    return [r.jpeg for r in rows]


def _reviewable(case_id: int) -> ColumnElement[bool]:
    with_thumbs = select(thumbnails.c.content_id).distinct()
    return (contents.c.case_id == case_id) & (
        (contents.c.media == "image")
        | ((contents.c.media == "video") & contents.c.id.in_(with_thumbs))
    )


def reviewable_ids(conn: Connection, case_id: int, ids: list[int]) -> set[int]:
    """Which of ``ids`` the app shows for review in the case: unknown pictures and videos.

    Args:
        conn: Case-store connection.
        case_id: The case.
        ids: Content ids to check.

    Returns:
        The ids that are in the case, are a picture (or a video with keyframes), and
        have no hash-set match.
    """
    matched = select(matches.c.content_id).where(matches.c.content_id.in_(ids))
    rows = conn.execute(
        select(contents.c.id).where(
            _reviewable(case_id), contents.c.id.in_(ids), contents.c.id.not_in(matched)
        )
    )
    return {int(r.id) for r in rows}


def detail(conn: Connection, case_id: int, content_id: int) -> Detail | None:
    """Provenance, times, matches, grade history and near contents of one content.

    Args:
        conn: Case-store connection.
        case_id: The case.
        content_id: The content.

    Returns:
        The detail, or None when the content is not in this case.
    """
    row = conn.execute(
        select(contents).where(contents.c.id == content_id, contents.c.case_id == case_id)
    ).first()
    if row is None:
        return None
    item_rows = conn.execute(
        select(items, exhibits.c.name.label("exhibit"))
        .join(exhibits, exhibits.c.id == items.c.exhibit_id)
        .where(items.c.content_id == content_id)
        .order_by(exhibits.c.name, items.c.path)
    ).all()
    match_rows = conn.execute(
        select(matches).where(matches.c.content_id == content_id).order_by(matches.c.id)
    ).all()
    history = conn.execute(
        select(grades).where(grades.c.content_id == content_id).order_by(grades.c.id.desc())
    ).all()
    near: list[tuple[int, int]] = []
    if usable(row.pdq, row.pdq_quality):
        others = {
            int(r.id): r.pdq
            for r in conn.execute(
                select(contents.c.id, contents.c.pdq, contents.c.pdq_quality).where(
                    contents.c.case_id == case_id, contents.c.id != content_id
                )
            )
            if usable(r.pdq, r.pdq_quality)
        }
        near = neighbours(row.pdq, others)
    return Detail(
        content=dict(row._mapping),
        items=[dict(r._mapping) for r in item_rows],
        matches=[dict(r._mapping) for r in match_rows],
        history=[dict(r._mapping) for r in history],
        near=near,
        known=bool(match_rows),
    )
