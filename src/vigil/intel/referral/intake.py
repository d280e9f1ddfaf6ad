"""Take a referral into the lab store: read it, match it, give it a priority, keep it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from vigil.errors import UsageError
from vigil.hashsets.library import HashSetLibrary
from vigil.intel.referral.findings import FileFinding, match_files, seen_before
from vigil.intel.referral.parse import read_referral
from vigil.intel.referral.priority import reasons_for
from vigil.store.clock import now_text
from vigil.web.lab import writing
from vigil.web.labschema import referral_files, referral_identifiers, referrals


def findings_json(findings: list[FileFinding]) -> list[dict[str, Any]]:
    """The findings as stored (``summary.files``) and read back by ``view``."""
    return [
        {
            **asdict(f.file),
            "hits": [asdict(h) for h in f.hits],
            "cases": sorted(f.cases),
        }
        for f in findings
    ]


def import_referral(lab: Engine, library: HashSetLibrary, path: Path, by: str) -> int:
    """Read, match and store one referral; its lab-wide priority is stored with it.

    Args:
        lab: The lab store.
        library: The hash-set library.
        path: The referral document.
        by: Who imports it.

    Returns:
        The referral's row id.

    Raises:
        ReferralError: The document cannot be read (see ``parse``).
        UsageError: A referral with the same report id was imported before.
    """
    referral = read_referral(path)
    with lab.connect() as conn:
        exists = conn.execute(
            select(referrals.c.id).where(referrals.c.report_id == referral.report_id)
        ).first()
    if exists:
        raise UsageError(f"referral {referral.report_id} was imported before")
    findings = match_files(referral, library, lab)
    repeats = seen_before(lab, referral.identifiers, referral.report_id)
    reasons = reasons_for(findings, repeats)
    summary = {
        "report_id": referral.report_id,
        "incident_type": referral.incident_type,
        "incident_at": referral.incident_at,
        "esp_service": referral.esp_service,
        "files": findings_json(findings),
        "identifiers": [
            {**asdict(i), "seen_in": repeats.get((i.kind, i.value), [])}
            for i in referral.identifiers
        ],
    }
    with writing(lab) as conn:
        ref_id = conn.execute(
            insert(referrals).values(
                report_id=referral.report_id,
                source_sha256=hashlib.sha256(Path(path).read_bytes()).hexdigest(),
                imported_at=now_text(),
                imported_by=by,
                incident_type=referral.incident_type,
                incident_at=referral.incident_at,
                status="open",
                priority=sum(r.weight for r in reasons),
                reasons=json.dumps([asdict(r) for r in reasons]),
                summary=json.dumps(summary),
            )
        ).inserted_primary_key[0]
        if referral.files:
            conn.execute(
                insert(referral_files),
                [
                    {
                        "referral_id": ref_id,
                        "file_id": f.file_id,
                        "file_name": f.name,
                        "md5": f.md5,
                        "sha1": f.sha1,
                        "sha256": f.sha256,
                        "uploaded_at": f.uploaded_at,
                    }
                    for f in referral.files
                ],
            )
        if referral.identifiers:
            conn.execute(
                insert(referral_identifiers),
                [
                    {"referral_id": ref_id, "kind": i.kind, "value": i.value, "at": i.at}
                    for i in referral.identifiers
                ],
            )
    return int(ref_id)
