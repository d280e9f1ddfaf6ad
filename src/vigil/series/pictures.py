"""Read what series are formed from: a case's unknown pictures with their camera facts.

"Unknown" is what the review app grades: a picture content with no hash-set match at
all. Each picture comes with its usable PDQ (quality 50 and over), the camera facts the
scan stored from its EXIF, and every place (exhibit, path) it was found.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select
from sqlalchemy.engine import Connection

from vigil.hashing.pdq import MIN_QUALITY
from vigil.store.schema import contents, exhibits, exif, items, matches


@dataclass(frozen=True)
class Camera:
    """The camera facts of one picture as the scan stored them (``exif`` table)."""

    make: str | None = None
    model: str | None = None
    body_serial: str | None = None
    lens_make: str | None = None
    lens_model: str | None = None
    lens_serial: str | None = None
    taken: str | None = None
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class Picture:
    """One unknown picture of a case, as series see it."""

    content_id: int
    sha256: str
    md5: str
    pdq: str | None
    camera: Camera
    places: tuple[tuple[str, str], ...]


def unknown_clause(case_id: int) -> ColumnElement[bool]:
    """The ``contents`` rows that are the case's unknown pictures (no match at all)."""
    matched = select(matches.c.content_id).join(contents, contents.c.id == matches.c.content_id)
    matched = matched.where(contents.c.case_id == case_id)
    return (
        (contents.c.case_id == case_id)
        & (contents.c.media == "image")
        & contents.c.id.not_in(matched)
    )


def unknown_pictures(conn: Connection, case_id: int) -> list[Picture]:
    """The case's picture contents with no hash-set match, by content id.

    Args:
        conn: Case-store connection.
        case_id: The case.

    Returns:
        The pictures with their usable PDQ, camera facts and places.
    """
    rows = conn.execute(
        select(contents.c.id, contents.c.sha256, contents.c.md5, contents.c.pdq,
               contents.c.pdq_quality)
        .where(unknown_clause(case_id))
        .order_by(contents.c.id)
    ).all()
    cameras: dict[int, Camera] = {}
    facts = conn.execute(
        select(exif).join(contents, contents.c.id == exif.c.content_id).where(
            contents.c.case_id == case_id
        )
    )
    for f in facts:
        cameras[int(f.content_id)] = Camera(
            f.make, f.model, f.body_serial, f.lens_make, f.lens_model, f.lens_serial,
            f.taken, f.latitude, f.longitude,
        )
    places: dict[int, list[tuple[str, str]]] = defaultdict(list)
    found = conn.execute(
        select(items.c.content_id, exhibits.c.name, items.c.path)
        .join(exhibits, exhibits.c.id == items.c.exhibit_id)
        .join(contents, contents.c.id == items.c.content_id)
        .where(exhibits.c.case_id == case_id, contents.c.media == "image")
    )
    for content_id, exhibit, path in found:
        places[int(content_id)].append((exhibit, path))
    empty = Camera()
    return [
        Picture(
            int(r.id),
            r.sha256,
            r.md5,
            r.pdq if r.pdq and (r.pdq_quality or 0) >= MIN_QUALITY else None,
            cameras.get(int(r.id), empty),
            tuple(sorted(places.get(int(r.id), []))),
        )
        for r in rows
    ]
