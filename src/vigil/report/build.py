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
from importlib import metadata as importlib_metadata
from pathlib import PurePath
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Row

from vigil import __version__
from vigil.classify.scores import NOTE as CLASSIFIER_NOTE
from vigil.classify.scores import runs_json
from vigil.intel.bank import is_bank
from vigil.names import is_text, name_bytes, name_text, unescape_name
from vigil.report.admin import check_rows
from vigil.report.floods import FloodSettings, check_entries, flood_policy, mark_suspect_matches
from vigil.report.grading import GRADE_POLICY, best_match, effective_grade, grade_label
from vigil.report.grading import newest_review as pick_review
from vigil.report.totals import DUPLICATE_POLICY, item_status, mark_representatives, totals
from vigil.series.listing import case_series, series_json
from vigil.store.api import CaseStore
from vigil.store.clock import now_text
from vigil.store.failures import translated
from vigil.store.schema import (
    cases,
    contents,
    errors,
    exhibits,
    grades,
    items,
    matches,
    scan_hashsets,
    scans,
)

SCHEMA_VERSION = "1.3"

# Distributions whose versions decide results; the report names each.
RESULT_DEPENDENCIES = (
    "dfvfs",
    "pytsk3",
    "libewf-python",
    "libarchive-c",
    "pillow",
    "pillow-heif",
    "pdqhash",
    "av",
    "faiss-cpu",
    "numpy",
    "sqlalchemy",
    "onnxruntime",
)


def dependency_versions() -> dict[str, str]:
    """Installed versions of the libraries that decide results."""
    found = {}
    for name in RESULT_DEPENDENCIES:
        try:
            found[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            found[name] = "not installed"
    found["libarchive"] = _libarchive_version()
    return found


def _libarchive_version() -> str:
    """The C library behind libarchive-c (it, not the binding, reads the archives)."""
    try:
        from libarchive import ffi
    except (ImportError, OSError):
        return "not installed"
    n = ffi.version_number()
    return f"{n // 1_000_000}.{n // 1000 % 1000}.{n % 1000}"


def _rows_by_content(conn: Connection, table: Any, content_ids: list[int]) -> dict[int, list]:
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if content_ids:
        for r in conn.execute(select(table).where(table.c.content_id.in_(content_ids))):
            found[r.content_id].append(dict(r._mapping))
    return found


def _match_json(
    m: dict[str, Any], schemes: dict[str, str], lab_sets: frozenset[str] = frozenset()
) -> dict[str, Any]:
    scheme = schemes.get(m["hashset"]) or None
    # A match of the lab bank (grades given in this lab's review app) is counted under
    # basis "lab-review"; "algorithm" and "distance" still say how it matched.
    basis = "lab-review" if m["hashset"] in lab_sets else m["basis"]
    return {
        "hashset": m["hashset"],
        "entry_id": m["entry_id"],
        "scheme": scheme,
        "grade": m["grade"],
        "grade_label": grade_label(scheme, m["grade"]),
        "known_good": bool(m["known_good"]),
        "basis": basis,
        "algorithm": m["algorithm"],
        "distance": m["distance"],
        "variant": m["variant"],
        "timestamp": m["timestamp"],
        "suspect": bool(m.get("suspect")),
    }


def _review_json(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "scheme": r["scheme"],
        "grade": r["grade"],
        "label": grade_label(r["scheme"], r["grade"]),
        "user": r["user"],
        "at": r["at"],
        "note": r["note"],
    }


def _name_fields(display: str, raw: bytes | None) -> dict[str, str | None]:
    """The exact name beside its display form: ``path_text`` (Unicode, U+FFFD where a
    byte was not UTF-8) and ``path_hex`` (the raw bytes, only when not UTF-8)."""
    exact = unescape_name(display)
    return {
        "path_text": name_text(exact),
        "path_hex": None if is_text(exact) else (raw or name_bytes(exact)).hex(),
    }


def _item_json(
    it: Row,
    exhibit: str,
    content: Row | None,
    best: dict[str, Any] | None,
    review: dict[str, Any] | None,
    item_errors: list[str],
) -> dict[str, Any]:
    c = content
    review_json = _review_json(review) if review else None
    item = {
        "exhibit": exhibit,
        "path": it.path,
        **_name_fields(it.path, it.path_raw),
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
        "app": it.app,
        "linked": it.linked_path,
        "parent": it.parent_path,
        "depth": it.depth,
        "md5": c.md5 if c else None,
        "sha1": c.sha1 if c else None,
        "sha256": c.sha256 if c else None,
        "mime": c.mime if c else None,
        "media": c.media if c else "other",
        "pdq": c.pdq if c else None,
        "pdq_quality": c.pdq_quality if c else None,
        "known_good": bool(best and best["known_good"] and not best["suspect"])
        and not (review_json or {}).get("grade"),
        "match": best,
        "review": review_json,
        "grade": effective_grade(best, review_json),
        "errors": item_errors,
    }
    item["status"] = item_status(item)
    return item


def _exhibit_json(
    e: Row,
    ex_scans: list[Row],
    hs_rows: list[Row],
    ex_items: list[dict[str, Any]],
    ex_errors: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "name": e.name,
        "description": e.description,
        "evidence_path": e.evidence_path,
        "evidence_kind": e.evidence_kind,
        "evidence_files": [PurePath(e.evidence_path).name],
        "acquisition": {
            "md5": e.acquisition_md5,
            "sha1": e.acquisition_sha1,
            "verify_result": e.verify_result,
        },
        "extraction": {
            "type": e.extraction_type,
            "tool": e.extraction_tool,
            "version": e.extraction_version,
            "device": e.device,
        },
        "scans": [
            {
                "status": s.status,
                "settings": json.loads(s.settings),
                "vigil_version": s.vigil_version,
                "hashsets": sorted(h.name for h in hs_rows if h.scan_id == s.id),
            }
            for s in ex_scans
        ],
        "totals": totals(ex_items, ex_errors),
    }


def build_report(
    store: CaseStore, case: str, floods: FloodSettings | None = None
) -> dict[str, Any]:
    """Build the report model of a case.

    Args:
        store: The case store holding the case.
        case: The case name.
        floods: When a hash-set entry's perceptual matches are a suspect match flood;
            default ``FloodSettings()`` (at least 3 mutually different pictures, more
            than 1% of the case's distinct pictures).

    Returns:
        The JSON-ready report model (see ``docs/report-schema.json``).

    Raises:
        UsageError: If the store has no such case.
        StoreError: If a stored row differs from what the scan wrote (row digests), or
            the store cannot be read.
    """
    check_rows(store, case)
    case_id = store.case_id(case)
    with translated(store.url, "reading the case"), store.engine.connect() as conn:
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
        match_rows = _rows_by_content(conn, matches, list(content_rows))
        review_rows = _rows_by_content(conn, grades, list(content_rows))
        item_rows = conn.execute(select(items).where(items.c.exhibit_id.in_(exhibit_ids))).all()
        error_rows = conn.execute(select(errors).where(errors.c.exhibit_id.in_(exhibit_ids))).all()
        found_series, series_pictures = case_series(conn, case_id)
        classifier_runs = runs_json(conn, case_id)

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
    lab_sets = frozenset(n for n, h in hashsets.items() if is_bank(h["format"]))

    errors_by_item: dict[tuple[int, str], list[str]] = defaultdict(list)
    for e in error_rows:
        errors_by_item[(e.exhibit_id, e.location)].append(f"{e.stage}: {e.reason}")

    floods = floods or FloodSettings()
    picture_ids = {cid for cid, c in content_rows.items() if c.media == "image"}
    pdq = {cid: c.pdq for cid, c in content_rows.items()}
    suspects, copied = check_entries(match_rows, picture_ids, floods, pdq)
    mark_suspect_matches(match_rows, suspects)
    best_by_content = {
        cid: _match_json(m, schemes, lab_sets)
        for cid, rows in match_rows.items()
        if (m := best_match(rows, schemes)) is not None
    }
    report_items = []
    for it in item_rows:
        cid = it.content_id
        report_items.append(
            _item_json(
                it,
                exhibit_name[it.exhibit_id],
                content_rows.get(cid) if cid is not None else None,
                best_by_content.get(cid) if cid is not None else None,
                pick_review(review_rows.get(cid, [])) if cid is not None else None,
                sorted(errors_by_item.get((it.exhibit_id, it.path), [])),
            )
        )
    report_items.sort(key=lambda i: (i["exhibit"], i["path"]))
    mark_representatives(report_items)
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

    exhibits_json = [
        _exhibit_json(
            e,
            [s for s in scan_rows if s.exhibit_id == e.id],
            hs_rows,
            [i for i in report_items if i["exhibit"] == e.name],
            [x for x in report_errors if x["exhibit"] == e.name],
        )
        for e in exhibit_rows
    ]

    return {
        "schema_version": SCHEMA_VERSION,
        "generator": {
            "name": "vigil",
            "version": __version__,
            "dependencies": dependency_versions(),
        },
        "case": {
            "name": case_row.name,
            "reference": case_row.reference,
            "examiner": case_row.examiner,
            "organisation": case_row.organisation,
        },
        "duplicate_policy": DUPLICATE_POLICY,
        "grade_policy": GRADE_POLICY,
        "flood_policy": flood_policy(floods, len(picture_ids)),
        "suspect_entries": suspects,
        "copied_entries": copied,
        "hashsets": [hashsets[n] for n in sorted(hashsets)],
        "exhibits": exhibits_json,
        "totals": totals(report_items, report_errors, per_exhibit=True),
        "items": report_items,
        "errors": report_errors,
        "series": series_json(found_series, series_pictures),
        "classifier": {"note": CLASSIFIER_NOTE, "runs": classifier_runs},
        "run": {
            "generated_at": now_text(),
            "host": socket.gethostname(),
            "python": platform.python_version(),
            "case_created_at": case_row.created_at,
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
