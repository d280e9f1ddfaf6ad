"""The case audit log: append-only entries, each chained to the previous by SHA-256.

Every entry's ``hash`` is SHA-256 over the previous entry's hash and the canonical
JSON of (seq, at, actor, action, details). ``verify`` recomputes the chain: an edited
entry breaks its own hash, a removed or reordered one breaks the sequence or the link
to its predecessor. Removing entries from the end cannot be seen from the chain alone;
signed reports record the head hash, which anchors it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from vigil.store.clock import now_text
from vigil.store.schema import audit_log, cases

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    """One entry as stored."""

    seq: int
    at: str
    actor: str
    action: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class AuditProblem:
    """Where the chain is broken and how."""

    seq: int
    reason: str


def _entry_hash(prev_hash: str, seq: int, at: str, actor: str, action: str, details: str) -> str:
    body = json.dumps([seq, at, actor, action, details], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def append(
    conn: Connection, case_id: int, actor: str, action: str, details: dict[str, Any]
) -> AuditEntry:
    """Append one entry to the case's chain inside the caller's transaction."""
    if conn.dialect.name == "postgresql":
        # Serialise appenders of one case (SQLite transactions already hold the lock).
        conn.execute(select(cases.c.id).where(cases.c.id == case_id).with_for_update())
    last = conn.execute(
        select(audit_log.c.seq, audit_log.c.hash)
        .where(audit_log.c.case_id == case_id)
        .order_by(audit_log.c.seq.desc())
        .limit(1)
    ).first()
    seq = (last.seq + 1) if last else 1
    prev = last.hash if last else GENESIS
    at = now_text()
    text = json.dumps(details, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    digest = _entry_hash(prev, seq, at, actor, action, text)
    conn.execute(
        insert(audit_log).values(
            case_id=case_id,
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            details=text,
            prev_hash=prev,
            hash=digest,
        )
    )
    return AuditEntry(seq, at, actor, action, details, prev, digest)


def entries(conn: Connection, case_id: int) -> list[AuditEntry]:
    """The case's entries in storage order (by row id, not by ``seq``)."""
    rows = conn.execute(
        select(audit_log).where(audit_log.c.case_id == case_id).order_by(audit_log.c.id)
    )
    return [
        AuditEntry(r.seq, r.at, r.actor, r.action, json.loads(r.details), r.prev_hash, r.hash)
        for r in rows
    ]


def head(conn: Connection, case_id: int) -> tuple[int, str]:
    """(number of entries, hash of the newest entry) for anchoring in a signed report."""
    n = conn.execute(
        select(func.count()).select_from(audit_log).where(audit_log.c.case_id == case_id)
    ).scalar_one()
    last = conn.execute(
        select(audit_log.c.hash)
        .where(audit_log.c.case_id == case_id)
        .order_by(audit_log.c.seq.desc())
        .limit(1)
    ).scalar()
    return int(n), last or GENESIS


def verify(conn: Connection, case_id: int) -> list[AuditProblem]:
    """Recompute the chain; an empty list means it is intact."""
    problems = []
    prev = GENESIS
    rows = conn.execute(
        select(audit_log).where(audit_log.c.case_id == case_id).order_by(audit_log.c.id)
    ).all()
    for expected_seq, r in enumerate(rows, start=1):
        if r.seq != expected_seq:
            problems.append(AuditProblem(r.seq, f"expected entry {expected_seq} here"))
        if r.prev_hash != prev:
            problems.append(AuditProblem(r.seq, "does not link to the entry before it"))
        if _entry_hash(r.prev_hash, r.seq, r.at, r.actor, r.action, r.details) != r.hash:
            problems.append(AuditProblem(r.seq, "content does not match its hash (edited)"))
        prev = r.hash
    return problems
