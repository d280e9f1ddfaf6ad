"""One report model, built from the case store only; every format renders it.

The model is a plain JSON-ready dict whose shape is documented and versioned in
``docs/report-schema.json``. Everything in it except the ``run`` block is a pure
function of the store's scan results, sorted, so the same evidence, hash sets and
settings give byte-identical JSON apart from ``run``.
"""

from __future__ import annotations

import json
import platform
import socket
from collections import defaultdict
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from typing import Any

from sqlalchemy import select

from vigil import __version__
from vigil.hashsets.schemes import load_scheme
from vigil.store.api import CaseStore
from vigil.store.clock import now_text
from vigil.store.schema import (
    cases,
    contents,
    errors,
    exhibits,
    items,
    matches,
    scan_hashsets,
    scans,
)

SCHEMA_VERSION = "1.0"

# Distributions whose versions decide results; the report names each.
RESULT_DEPENDENCIES = (
    "dfvfs",
    "pytsk3",
    "libewf-python",
    "py7zr",
    "rarfile",
    "pillow",
    "pillow-heif",
    "pdqhash",
    "av",
    "faiss-cpu",
    "numpy",
    "sqlalchemy",
)


@dataclass(frozen=True)
class _GradeKey:
    scheme: str
    grade: str


def dependency_versions() -> dict[str, str]:
    """Installed versions of the libraries that decide results."""
    found = {}
    for name in RESULT_DEPENDENCIES:
        try:
            found[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _severity(scheme: str) -> dict[str, tuple[int, str, bool]]:
    """grade code -> (rank, label, indecent); rank 0 is the most severe."""
    try:
        sch = load_scheme(scheme)
    except Exception:  # noqa: BLE001 - an unknown scheme still reports its raw codes
        return {}
    return {g.code: (i, g.label, g.indecent) for i, g in enumerate(sch.grades)}


def _best_match(rows: list[dict[str, Any]], schemes: dict[str, str]) -> dict[str, Any] | None:
    """The match that decides an item's grade: notable over known-good, graded over
    ungraded, more severe first, exact before perceptual, then the smallest distance."""
    if not rows:
        return None

    def key(m: dict[str, Any]) -> tuple[Any, ...]:
        scheme = schemes.get(m["hashset"], "")
        rank = _severity(scheme).get(m["grade"] or "", (99, "", False))[0]
        return (
            m["known_good"],
            m["grade"] is None,
            rank,
            m["basis"] != "exact",
            m["distance"] or 0,
            m["hashset"],
            m["entry_id"],
        )

    return sorted(rows, key=key)[0]


def build_report(store: CaseStore, case: str) -> dict[str, Any]:
    """Build the report model of ``case`` from ``store``."""
    case_id = store.case_id(case)
    with store.engine.connect() as conn:
        case_row = conn.execute(select(cases).where(cases.c.id == case_id)).one()
        exhibit_rows = conn.execute(
            select(exhibits).where(exhibits.c.case_id == case_id).order_by(exhibits.c.name)
        ).all()
        exhibit_ids = [e.id for e in exhibit_rows]
        scan_rows = conn.execute(
            select(scans).where(scans.c.exhibit_id.in_(exhibit_ids)).order_by(scans.c.id)
        ).all()
        hs_rows = conn.execute(
            select(scan_hashsets).where(scan_hashsets.c.scan_id.in_([s.id for s in scan_rows]))
        ).all()
        content_rows = {
            r.id: r for r in conn.execute(select(contents).where(contents.c.case_id == case_id))
        }
        match_rows: dict[int, list[dict[str, Any]]] = defaultdict(list)
        if content_rows:
            for m in conn.execute(
                select(matches).where(matches.c.content_id.in_(list(content_rows)))
            ):
                match_rows[m.content_id].append(dict(m._mapping))
        item_rows = conn.execute(select(items).where(items.c.exhibit_id.in_(exhibit_ids))).all()
        error_rows = conn.execute(select(errors).where(errors.c.exhibit_id.in_(exhibit_ids))).all()

    exhibit_name = {e.id: e.name for e in exhibit_rows}
    hashsets: dict[str, dict[str, Any]] = {}
    for h in hs_rows:
        hashsets.setdefault(
            h.name,
            {
                "name": h.name,
                "format": h.format,
                "scheme": h.scheme,
                "known_good": bool(h.known_good),
                "entries": int(h.entries),
                "source_sha256": h.source_sha256,
                "imported_at": h.imported_at,
            },
        )
    schemes = {n: h["scheme"] or "" for n, h in hashsets.items()}

    errors_by_item: dict[tuple[int, str], list[str]] = defaultdict(list)
    for e in error_rows:
        errors_by_item[(e.exhibit_id, e.location)].append(f"{e.stage}: {e.reason}")

    report_items = []
    for it in item_rows:
        c = content_rows.get(it.content_id) if it.content_id is not None else None
        best = _best_match(match_rows.get(it.content_id, []), schemes) if c else None
        report_items.append(
            {
                "exhibit": exhibit_name[it.exhibit_id],
                "path": it.path,
                "size": it.size,
                "created": it.created,
                "modified": it.modified,
                "accessed": it.accessed,
                "changed": it.changed,
                "flags": {
                    "allocated": bool(it.allocated),
                    "deleted": bool(it.deleted),
                    "carved": bool(it.carved),
                    "embedded": bool(it.embedded),
                    "in_archive": bool(it.in_archive),
                    "encrypted": bool(it.encrypted),
                },
                "inode": it.inode,
                "offset": it.offset,
                "md5": c.md5 if c else None,
                "sha1": c.sha1 if c else None,
                "sha256": c.sha256 if c else None,
                "mime": c.mime if c else None,
                "media": c.media if c else "other",
                "pdq": c.pdq if c else None,
                "pdq_quality": c.pdq_quality if c else None,
                "known_good": bool(best and best["known_good"]),
                "match": _match_json(best, schemes) if best else None,
                "errors": sorted(errors_by_item.get((it.exhibit_id, it.path), [])),
            }
        )
    report_items.sort(key=lambda i: (i["exhibit"], i["path"]))
    item_paths = {(i["exhibit"], i["path"]) for i in report_items}

    report_errors = sorted(
        (
            {
                "exhibit": exhibit_name[e.exhibit_id],
                "location": e.location,
                "stage": e.stage,
                "reason": e.reason,
                "item": (exhibit_name[e.exhibit_id], e.location) in item_paths,
            }
            for e in error_rows
        ),
        key=lambda e: (e["exhibit"], e["location"], e["stage"], e["reason"]),
    )

    exhibits_json = []
    for e in exhibit_rows:
        ex_scans = [s for s in scan_rows if s.exhibit_id == e.id]
        ex_items = [i for i in report_items if i["exhibit"] == e.name]
        ex_errors = [x for x in report_errors if x["exhibit"] == e.name]
        exhibits_json.append(
            {
                "name": e.name,
                "description": e.description,
                "evidence_path": e.evidence_path,
                "evidence_kind": e.evidence_kind,
                "scans": [
                    {
                        "status": s.status,
                        "settings": json.loads(s.settings),
                        "vigil_version": s.vigil_version,
                        "hashsets": sorted(h.name for h in hs_rows if h.scan_id == s.id),
                    }
                    for s in ex_scans
                ],
                "totals": _totals(ex_items, ex_errors, schemes),
            }
        )

    return {
        "schema_version": SCHEMA_VERSION,
        "generator": {
            "name": "vigil",
            "version": __version__,
            "dependencies": dependency_versions(),
        },
        "case": {"name": case_row.name},
        "duplicate_policy": (
            "Counts are per distinct content (SHA-256) per exhibit and, in the total, "
            "across exhibits; every copy is listed as an item. Known-good items are "
            "excluded from grade counts."
        ),
        "hashsets": [hashsets[n] for n in sorted(hashsets)],
        "exhibits": exhibits_json,
        "totals": _totals(report_items, report_errors, schemes),
        "items": report_items,
        "errors": report_errors,
        "run": {
            "generated_at": now_text(),
            "host": socket.gethostname(),
            "python": platform.python_version(),
            "scans": [
                {
                    "exhibit": exhibit_name[s.exhibit_id],
                    "started_at": s.started_at,
                    "finished_at": s.finished_at,
                    "host": s.host,
                }
                for s in scan_rows
            ],
        },
    }


def _match_json(m: dict[str, Any], schemes: dict[str, str]) -> dict[str, Any]:
    scheme = schemes.get(m["hashset"], "")
    label = _severity(scheme).get(m["grade"] or "", (0, None, False))[1]
    return {
        "hashset": m["hashset"],
        "entry_id": m["entry_id"],
        "scheme": scheme or None,
        "grade": m["grade"],
        "grade_label": label,
        "basis": m["basis"],
        "algorithm": m["algorithm"],
        "distance": m["distance"],
        "variant": m["variant"],
        "timestamp": m["timestamp"],
    }


def _counter() -> dict[str, Any]:
    return {"items": 0, "distinct": set()}


def _totals(
    report_items: list[dict[str, Any]], report_errors: list[dict[str, Any]], schemes: dict[str, str]
) -> dict[str, Any]:
    """Counts of items and distinct contents, per media kind and per grade."""
    media: dict[str, dict[str, Any]] = defaultdict(_counter)
    grades: dict[tuple[str, str, str], dict[str, Any]] = defaultdict(_counter)
    matched, unknown_images, known_good, alls = _counter(), _counter(), _counter(), _counter()
    labels: dict[tuple[str, str], tuple[int, str | None]] = {}
    for it in report_items:
        sha = it["sha256"]
        if sha is None:
            continue
        for counter in (alls, media[it["media"]]):
            counter["items"] += 1
            counter["distinct"].add(sha)
        m = it["match"]
        if it["known_good"]:
            known_good["items"] += 1
            known_good["distinct"].add(sha)
        elif m is not None:
            matched["items"] += 1
            matched["distinct"].add(sha)
            scheme = m["scheme"] or "none"
            grade = m["grade"] or "ungraded"
            g = grades[(scheme, grade, it["media"])]
            g["items"] += 1
            g["distinct"].add(sha)
            rank = _severity(scheme).get(m["grade"] or "", (99, None, False))
            labels[(scheme, grade)] = (rank[0], m["grade_label"])
        elif it["media"] == "image":
            unknown_images["items"] += 1
            unknown_images["distinct"].add(sha)

    def fin(c: dict[str, Any]) -> dict[str, int]:
        return {"items": c["items"], "distinct": len(c["distinct"])}

    grade_rows = []
    for (scheme, grade), (_rank, label) in sorted(
        labels.items(), key=lambda kv: (kv[0][0], kv[1][0], kv[0][1])
    ):
        grade_rows.append(
            {
                "scheme": scheme,
                "grade": grade,
                "label": label,
                "images": fin(grades.get((scheme, grade, "image"), _counter())),
                "videos": fin(grades.get((scheme, grade, "video"), _counter())),
                "other": fin(grades.get((scheme, grade, "other"), _counter())),
            }
        )
    return {
        "items": alls["items"],
        "distinct_contents": len(alls["distinct"]),
        "media": {k: fin(media.get(k, _counter())) for k in ("image", "video", "other")},
        "grades": grade_rows,
        "matched": fin(matched),
        "unknown_images": fin(unknown_images),
        "known_good": fin(known_good),
        "errors": len(report_errors),
        "unreadable_items": sum(1 for it in report_items if it["sha256"] is None),
    }
