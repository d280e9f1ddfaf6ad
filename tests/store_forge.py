"""A forger with full knowledge of the store, for tests that must edit scan results.

Some tests stand in for a stage (a PDQ the scan did not compute) by editing a row the
scan wrote. ``reseal`` then does what only someone rewriting the whole store could:
recomputes the row's digest, its batch's digest and every audit entry from that batch
on, so the store proves the edited row. Signed reports anchor the chain's head, which
is what catches such a rewrite after a report.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import create_engine, select, update

from vigil.store import audit, rowproof
from vigil.store.schema import audit_log, metadata


def reseal(store_file: Path, table_name: str, row_id: int) -> None:
    """Make row ``row_id`` of ``table_name`` proven again after a direct edit."""
    table = metadata.tables[table_name]
    engine = create_engine(f"sqlite:///{store_file}")
    with engine.begin() as conn:
        row = conn.execute(select(table).where(table.c.id == row_id)).one()
        conn.execute(
            update(table)
            .where(table.c.id == row_id)
            .values(digest=rowproof.row_digest(table, row._mapping))
        )
        digests = [
            d
            for t in rowproof.PROVEN_TABLES
            for (d,) in conn.execute(select(t.c.digest).where(t.c.batch == row.batch))
        ]
        entries = conn.execute(select(audit_log).order_by(audit_log.c.id)).all()
        prev, rewriting = audit.GENESIS, False
        for e in entries:
            details = e.details
            if e.action == rowproof.BATCH_ACTION and json.loads(details)["batch"] == row.batch:
                data = json.loads(details)
                data["digest"] = rowproof.batch_digest(digests)
                details = json.dumps(
                    data, sort_keys=True, ensure_ascii=False, separators=(",", ":")
                )
                rewriting = True
            if rewriting:
                digest = audit._entry_hash(prev, e.seq, e.at, e.actor, e.action, details)
                conn.execute(
                    update(audit_log)
                    .where(audit_log.c.id == e.id)
                    .values(details=details, prev_hash=prev, hash=digest)
                )
                prev = digest
            else:
                prev = e.hash
    engine.dispose()
