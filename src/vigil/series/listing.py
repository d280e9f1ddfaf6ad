"""The series of one case as JSON-ready dicts: for ``vigil series``, the report and the
review app (members with their hashes and where they were found; never pictures)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from sqlalchemy.engine import Connection

from vigil.series.grouping import Series, SeriesSettings, form_series
from vigil.series.pictures import Camera, Picture, unknown_pictures


def case_series(
    conn: Connection, case_id: int, settings: SeriesSettings | None = None
) -> tuple[list[Series], dict[int, Picture]]:
    """Form the series of a case's unknown pictures.

    Args:
        conn: Case-store connection.
        case_id: The case.
        settings: Distances and gaps (default ``SeriesSettings()``).

    Returns:
        The series (see ``form_series`` for the order) and the pictures by content id.
    """
    pictures = unknown_pictures(conn, case_id)
    found = form_series(pictures, settings or SeriesSettings())
    return found, {p.content_id: p for p in pictures}


def series_json(
    found: list[Series], pictures: dict[int, Picture], members: bool = True
) -> list[dict[str, Any]]:
    """Series as dicts: ``id``, ``kind``, ``facts``, ``size`` and (with ``members``) each
    member's content id, hashes, camera facts and places.

    Args:
        found: The series.
        pictures: The pictures by content id.
        members: Include the members (the report lists them; a summary may not).

    Returns:
        One dict per series, in the given order.
    """
    out = []
    # A picture in several series is described once (the same dict in each).
    described: dict[int, dict[str, Any]] = {}
    for s in found:
        entry: dict[str, Any] = {"id": s.id, "kind": s.kind, "facts": s.facts,
                                 "size": len(s.members)}
        if members:
            entry["members"] = [
                described.get(c) or described.setdefault(c, _member(pictures[c]))
                for c in s.members
            ]
        out.append(entry)
    return out


_CAMERA_FIELDS = tuple(f.name for f in fields(Camera))


def _member(p: Picture) -> dict[str, Any]:
    camera = {k: v for k in _CAMERA_FIELDS if (v := getattr(p.camera, k)) is not None}
    return {
        "content_id": p.content_id,
        "sha256": p.sha256,
        "md5": p.md5,
        "camera": camera,
        "places": [{"exhibit": e, "path": path} for e, path in p.places],
    }
