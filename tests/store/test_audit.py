from pathlib import Path

import pytest
from sqlalchemy import delete, update

from vigil.store import audit
from vigil.store.api import CaseStore
from vigil.store.schema import audit_log


@pytest.fixture
def store_with_log(tmp_path: Path) -> tuple[CaseStore, int]:
    store = CaseStore(f"sqlite:///{tmp_path / 'c.sqlite'}")
    with store.engine.begin() as conn:
        case_id = store.ensure_case(conn, "C1")
        for i in range(5):
            audit.append(conn, case_id, "examiner1", "scan", {"n": i})
    yield store, case_id
    store.close()


def _verify(store: CaseStore, case_id: int) -> list[audit.AuditProblem]:
    with store.engine.connect() as conn:
        return audit.verify(conn, case_id)


def test_intact_chain_verifies(store_with_log: tuple[CaseStore, int]) -> None:
    store, case_id = store_with_log
    assert _verify(store, case_id) == []
    with store.engine.connect() as conn:
        assert audit.head(conn, case_id)[0] == 5
        assert [e.details["n"] for e in audit.entries(conn, case_id)] == [0, 1, 2, 3, 4]


def test_edited_entry_is_detected(store_with_log: tuple[CaseStore, int]) -> None:
    store, case_id = store_with_log
    with store.engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 3).values(details='{"n":99}'))
    assert [(p.seq, p.reason) for p in _verify(store, case_id)] == [
        (3, "content does not match its hash (edited)")
    ]


def test_removed_entry_is_detected(store_with_log: tuple[CaseStore, int]) -> None:
    store, case_id = store_with_log
    with store.engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq == 2))
    problems = _verify(store, case_id)
    assert problems and problems[0].seq == 3


def test_reordered_entries_are_detected(store_with_log: tuple[CaseStore, int]) -> None:
    store, case_id = store_with_log
    with store.engine.begin() as conn:
        rows = {r.seq: r for r in conn.execute(audit_log.select())}
        for a, b in ((2, 4), (4, 2)):
            src = rows[b]
            conn.execute(
                update(audit_log)
                .where(audit_log.c.id == rows[a].id)
                .values(
                    seq=src.seq + 100,
                    at=src.at,
                    actor=src.actor,
                    action=src.action,
                    details=src.details,
                    prev_hash=src.prev_hash,
                    hash=src.hash,
                )
            )
        conn.execute(
            update(audit_log).where(audit_log.c.seq > 100).values(seq=audit_log.c.seq - 100)
        )
    assert _verify(store, case_id) != []
