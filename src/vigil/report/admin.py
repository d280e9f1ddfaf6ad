"""Case and exhibit header records, acquisition verification results, audit helpers.

Every change is written together with its audit entry in one transaction.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update

from vigil.errors import StoreError, UsageError
from vigil.names import escape_name
from vigil.store import audit, rowproof
from vigil.store.api import CaseStore, actor
from vigil.store.clock import now_text
from vigil.store.failures import translated
from vigil.store.schema import audit_log, cases, exhibits

if TYPE_CHECKING:
    from vigil.sources.verify import VerifyResult

_CASE_FIELDS = ("reference", "examiner", "organisation")


def set_case(store: CaseStore, case: str, **fields: str | None) -> dict[str, Any]:
    """Set header fields of a case (created if new); None leaves a field unchanged.

    Args:
        store: The case store.
        case: The case name.
        **fields: ``examiner``, ``organisation``, ``reference``.

    Returns:
        The case's header fields after the change.
    """
    changes = {k: v for k, v in fields.items() if v is not None}
    unknown = set(changes) - set(_CASE_FIELDS)
    if unknown:
        raise UsageError(f"unknown case field(s): {', '.join(sorted(unknown))}")
    with store.engine.begin() as conn:
        case_id = store.ensure_case(conn, case)
        if changes:
            conn.execute(update(cases).where(cases.c.id == case_id).values(**changes))
            audit.append(conn, case_id, actor(), "case-set", changes)
        row = conn.execute(select(cases).where(cases.c.id == case_id)).one()
    return {"name": row.name, **{k: getattr(row, k) for k in _CASE_FIELDS}}


def set_exhibit(store: CaseStore, case: str, exhibit: str, description: str) -> None:
    """Set the description of an existing exhibit.

    Raises:
        UsageError: If the case or exhibit does not exist.
    """
    case_id = store.case_id(case)
    with store.engine.begin() as conn:
        result = conn.execute(
            update(exhibits)
            .where(exhibits.c.case_id == case_id, exhibits.c.name == exhibit)
            .values(description=description)
        )
        if result.rowcount == 0:
            raise UsageError(f"case {case!r} has no exhibit {exhibit!r}")
        audit.append(
            conn, case_id, actor(), "exhibit-set", {"exhibit": exhibit, "description": description}
        )


def verify_text(result: VerifyResult) -> str:
    """``verified`` when every stored hash matches, ``mismatch`` or ``no stored hash``."""
    if result.ok:
        return "verified"
    if result.stored_md5 or result.stored_sha1:
        return "mismatch"
    return "no stored hash"


def record_verify(
    store: CaseStore, case: str, exhibit: str, evidence: Path, result: VerifyResult
) -> str:
    """Record a verification in the exhibit row (created if new) and the audit log.

    A new exhibit gets the resolved evidence path, so a later ``vigil scan`` of the same
    file under the same exhibit id continues it.

    Returns:
        The verify result text stored (see ``verify_text``).

    Raises:
        UsageError: If the exhibit exists with a different evidence path.
    """
    evidence_text = escape_name(str(Path(evidence).resolve()))
    text = verify_text(result)
    with store.engine.begin() as conn:
        case_id = store.ensure_case(conn, case)
        row = conn.execute(
            select(exhibits).where(exhibits.c.case_id == case_id, exhibits.c.name == exhibit)
        ).first()
        values = {
            "acquisition_md5": result.stored_md5,
            "acquisition_sha1": result.stored_sha1,
            "verify_result": text,
        }
        if row is None:
            conn.execute(
                insert(exhibits).values(
                    case_id=case_id,
                    name=exhibit,
                    evidence_path=evidence_text,
                    evidence_kind="image",
                    created_at=now_text(),
                    **values,
                )
            )
        elif row.evidence_path != evidence_text:
            raise UsageError(
                f"exhibit {exhibit!r} of case {case!r} is {row.evidence_path}, not {evidence_text}"
            )
        else:
            conn.execute(update(exhibits).where(exhibits.c.id == row.id).values(**values))
        audit.append(
            conn,
            case_id,
            actor(),
            "verify",
            {
                "exhibit": exhibit,
                "evidence": evidence_text,
                "stored_md5": result.stored_md5,
                "stored_sha1": result.stored_sha1,
                "computed_md5": result.computed_md5,
                "computed_sha1": result.computed_sha1,
                "result": text,
            },
        )
    return text


def audit_problems(store: CaseStore, case: str) -> tuple[int, list[audit.AuditProblem]]:
    """Verify a case's audit chain.

    Returns:
        (number of entries, problems); no problems means the chain is intact.
    """
    case_id = store.case_id(case)
    with translated(store.url, "verifying the audit chain"), store.engine.connect() as conn:
        count, _ = audit.head(conn, case_id)
        return count, audit.verify(conn, case_id)


def check_rows(store: CaseStore, case: str, refuse: bool = True) -> rowproof.RowCheck:
    """Recompute the digests of every row the case's scans wrote.

    Returns:
        What was checked (rows, batches, rows from before digests, problems).

    Raises:
        StoreError: With ``refuse``, if any row differs from what its batch wrote; the
            message names the rows.
    """
    case_id = store.case_id(case)
    with translated(store.url, "verifying stored rows"), store.engine.connect() as conn:
        check = rowproof.verify_rows(conn, case_id)
    if refuse and not check.ok:
        raise StoreError(check.message(case))
    return check


def log_output(
    store: CaseStore, case: str, action: str, details: dict[str, Any]
) -> tuple[int, str]:
    """Append a report/export entry to the case's audit chain.

    Returns:
        The chain's head after the entry: (entry count, newest hash).
    """
    case_id = store.case_id(case)
    with store.engine.begin() as conn:
        audit.append(conn, case_id, actor(), action, details)
        return audit.head(conn, case_id)


def audit_has_head(store: CaseStore, case: str, entries: int, head: str) -> bool:
    """Whether the case's chain still holds entry number ``entries`` with hash ``head``.

    A report's manifest records the head at report time; if the log was truncated (or
    rewritten) since, that entry is gone or different.
    """
    case_id = store.case_id(case)
    with store.engine.connect() as conn:
        found = conn.execute(
            select(audit_log.c.hash).where(
                audit_log.c.case_id == case_id, audit_log.c.seq == entries
            )
        ).scalar()
    return found == head
