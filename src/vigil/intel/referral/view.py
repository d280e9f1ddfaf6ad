"""What one lab user is shown of a stored referral.

The priority stored is lab-wide. A user is shown the names of only the cases they are
assigned to; an admin is also told how many other cases hold the files; anyone else is
told nothing of those cases, and the priority they see leaves out a reason that only
such cases give.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from vigil.intel.access import Viewer
from vigil.web.labschema import referrals


def _reasons(stored: list[dict[str, Any]], viewer: Viewer, files: list[dict]) -> list[dict]:
    shown = []
    for r in stored:
        if r["code"] != "held-by-cases":
            shown.append({k: r[k] for k in ("code", "weight", "text")})
            continue
        visible = [c for c in r["cases"] if viewer.sees(c)]
        hidden = len(r["cases"]) - len(visible)
        if not visible and not viewer.user.is_admin:
            continue
        held = sum(1 for f in files if f["cases"])
        where = [f"case(s) {', '.join(visible)}"] if visible else []
        if hidden and viewer.user.is_admin:
            where.append(f"{hidden} case(s) you are not assigned to")
        text = f"{held} file(s) already held in {' and '.join(where)}"
        shown.append({"code": r["code"], "weight": r["weight"], "text": text})
    return shown


def _files(files: list[dict[str, Any]], viewer: Viewer) -> list[dict[str, Any]]:
    shown = []
    for f in files:
        visible = [c for c in f["cases"] if viewer.sees(c)]
        row = {k: v for k, v in f.items() if k != "cases"}
        row["cases"] = visible
        row["other_cases"] = len(f["cases"]) - len(visible) if viewer.user.is_admin else None
        shown.append(row)
    return shown


def referral_view(row: Any, viewer: Viewer) -> dict[str, Any]:
    """The JSON a user is shown of one stored referral (``referrals`` row)."""
    summary = json.loads(row.summary)
    files = summary["files"]
    if not viewer.user.is_admin:
        # A non-admin's count of files held elsewhere is over visible cases only.
        files = [{**f, "cases": [c for c in f["cases"] if viewer.sees(c)]} for f in files]
    reasons = _reasons(json.loads(row.reasons), viewer, files)
    return {
        "report_id": row.report_id,
        "status": row.status,
        "imported_at": row.imported_at,
        "imported_by": row.imported_by,
        "incident_type": row.incident_type,
        "incident_at": row.incident_at,
        "priority": sum(r["weight"] for r in reasons),
        "reasons": reasons,
        "files": _files(summary["files"], viewer),
        "identifiers": summary["identifiers"],
    }


def open_referrals(lab: Engine, viewer: Viewer) -> list[dict[str, Any]]:
    """Every open referral as ``viewer`` sees it, highest priority first, then oldest."""
    with lab.connect() as conn:
        rows = conn.execute(select(referrals).where(referrals.c.status == "open")).all()
    views = [referral_view(r, viewer) for r in rows]
    return sorted(views, key=lambda v: (-v["priority"], v["imported_at"], v["report_id"]))


def one_referral(lab: Engine, ref_id: int, viewer: Viewer) -> dict[str, Any]:
    """The referral with row id ``ref_id`` as ``viewer`` sees it."""
    with lab.connect() as conn:
        row = conn.execute(select(referrals).where(referrals.c.id == ref_id)).one()
    return referral_view(row, viewer)
