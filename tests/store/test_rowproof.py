"""A store that proves its rows: each write batch is digested into the audit chain."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from vigil.model import FrameHash, Hashes, Item, Match, ScanError
from vigil.store import audit, rowproof
from vigil.store.api import CaseStore, ItemRecord
from vigil.store.schema import contents, items, row_batches

VIGIL = [sys.executable, "-m", "vigil"]


def _item(path: str, parent: str | None = None) -> Item:
    return Item(path=path, open=lambda: io.BytesIO(b""), size=3, parent=parent)


def _hashes(n: int, frames: tuple[FrameHash, ...] = ()) -> Hashes:
    return Hashes(size=n, md5=f"{n:032x}", sha1=f"{n:040x}", sha256=f"{n:064x}", frames=frames)


@pytest.fixture
def store(tmp_path: Path) -> CaseStore:
    s = CaseStore(f"sqlite:///{tmp_path / 'c.sqlite'}")
    yield s
    s.close()


def _batches(store: CaseStore, case_id: int) -> list[dict]:
    with store.engine.connect() as conn:
        return [e.details for e in audit.entries(conn, case_id) if e.action == "scan-batch"]


def _check(store: CaseStore, case_id: int) -> rowproof.RowCheck:
    with store.engine.connect() as conn:
        return rowproof.verify_rows(conn, case_id)


def test_one_unit_written_in_three_batches_is_proven_per_batch(store: CaseStore) -> None:
    ctx = store.begin_scan("C1", "E1", Path("/ev"), "folder", {}, [], resume=False)
    match = Match("set", 7, "A", "exact", "md5")
    video = _hashes(2, (FrameHash(0.0, "ab" * 32, 90), FrameHash(1.0, "cd" * 32, 80)))
    ids: dict[str, int] = {}
    # A unit's results in three write_batch calls, the container finished by the last.
    store.write_batch(ctx, [ItemRecord(_item("a.zip"), _hashes(1), container=True)], [], [], ids)
    store.write_batch(
        ctx,
        [ItemRecord(_item("a.zip!v.mp4", "a.zip"), video, [match])],
        [ScanError("a.zip!x", "decode", "truncated")],
        [],
        ids,
    )
    store.write_batch(ctx, [], [], ["a.zip"], ids)  # only marks a.zip expanded: no rows
    store.write_batch(ctx, [ItemRecord(_item("a.zip!v.mp4", "a.zip"), video)], [], [], ids)
    store.finish_scan(ctx)
    entries = _batches(store, ctx.case_id)
    # contents+item; contents+item+match+2 frames+error; the repeated item is ignored.
    assert [(e["batch"], e["rows"]) for e in entries] == [(1, 2), (2, 6)]
    with store.engine.connect() as conn:
        stored = {
            b: sorted(
                d
                for t in rowproof.PROVEN_TABLES
                for (d,) in conn.execute(select(t.c.digest).where(t.c.batch == b))
            )
            for b in (1, 2)
        }
        kept = conn.execute(select(row_batches.c.id, row_batches.c.rows)).all()
        expanded = conn.execute(select(items.c.expanded).where(items.c.path == "a.zip")).scalar()
    assert [e["digest"] for e in entries] == [rowproof.batch_digest(stored[b]) for b in (1, 2)]
    assert [tuple(r) for r in kept] == [(1, 2), (2, 6)]
    assert expanded is True  # set by a later batch, and not part of any digest
    check = _check(store, ctx.case_id)
    assert (check.ok, check.rows, check.batches) == (True, 8, 2)


def _scanned(store: CaseStore) -> int:
    ctx = store.begin_scan("C1", "E1", Path("/ev"), "folder", {}, [], resume=False)
    recs = [ItemRecord(_item(f"f{i}.jpg"), _hashes(i)) for i in range(1, 4)]
    store.write_batch(ctx, recs, [ScanError("f9.jpg", "read", "gone")], [], {})
    store.finish_scan(ctx)
    return ctx.case_id


def test_changed_value_names_the_row(store: CaseStore, tmp_path: Path) -> None:
    case_id = _scanned(store)
    with sqlite3.connect(tmp_path / "c.sqlite") as conn:
        conn.execute("UPDATE contents SET md5 = '1' || substr(md5, 2) WHERE id = 2")
        conn.execute("UPDATE errors SET reason = 'fine' WHERE id = 1")
    assert [str(p) for p in _check(store, case_id).problems] == [
        f"contents row 2 (sha256 {2:064x}, batch 1): values changed since written",
        "errors row 1 (error at f9.jpg, batch 1): values changed since written",
    ]


def test_row_digest_edited_too_names_the_batch_rows(store: CaseStore, tmp_path: Path) -> None:
    case_id = _scanned(store)
    with store.engine.begin() as conn:
        conn.execute(contents.update().where(contents.c.id == 1).values(md5="f" * 32))
        row = conn.execute(select(contents).where(contents.c.id == 1)).one()
        conn.execute(
            contents.update()
            .where(contents.c.id == 1)
            .values(digest=rowproof.row_digest(contents, row._mapping))
        )
    problems = _check(store, case_id).problems
    assert len(problems) == 7  # every row of batch 1: which one changed cannot be told
    assert {p.batch for p in problems} == {1}
    assert {p.reason for p in problems} == {"its batch's digest does not match"}


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "DELETE FROM items WHERE id = 3",
            ["row_batches (7 rows written, 6 found, batch 1): "
             "rows were removed, added or their digests edited"],
        ),
        (
            "INSERT INTO items (exhibit_id, path, allocated, deleted, carved, embedded, "
            "in_archive, encrypted, depth) VALUES (1, 'planted.jpg', 1, 0, 0, 0, 0, 0, 0)",
            ["items row 4 (path planted.jpg): no write batch wrote it"],
        ),
        (
            "UPDATE audit_log SET action = 'note' WHERE action = 'scan-batch'",
            [f"{t} row {i} ({w}, batch 1): its write batch is not in the audit chain"
             for t, i, w in [("contents", 1, f"sha256 {1:064x}"),
                             ("contents", 2, f"sha256 {2:064x}"),
                             ("contents", 3, f"sha256 {3:064x}"),
                             ("items", 1, "path f1.jpg"), ("items", 2, "path f2.jpg"),
                             ("items", 3, "path f3.jpg"), ("errors", 1, "error at f9.jpg")]],
        ),
    ],
    ids=["removed", "planted", "unchained"],
)
def test_removed_planted_or_unchained_rows(
    store: CaseStore, tmp_path: Path, sql: str, expected: list[str]
) -> None:
    case_id = _scanned(store)
    with sqlite3.connect(tmp_path / "c.sqlite") as conn:
        conn.execute(sql)
    assert [str(p) for p in _check(store, case_id).problems] == expected


def _vigil(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "VIGIL_HOME": str(home)}
    return subprocess.run([*VIGIL, *args], env=env, capture_output=True, text=True, timeout=300)


def test_report_and_audit_verify_refuse_one_changed_md5_digit(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    for i in range(3):
        (evidence / f"note{i}.txt").write_text(f"benign note {i}\n")
    home = tmp_path / "home"
    home.mkdir()
    db = tmp_path / "c.sqlite"
    url = f"sqlite:///{db}"
    scan = _vigil(home, "scan", str(evidence), "--case", "C1", "--exhibit", "E1", "-q",
                  "--db", url)
    assert scan.returncode == 0, scan.stderr
    ok = _vigil(home, "audit", "verify", "C1", "--db", url)
    assert ok.returncode == 0 and "chain intact; 6 rows match their 1 write batches" in ok.stdout
    with sqlite3.connect(db) as conn:
        row_id, md5, sha256 = conn.execute(
            "SELECT id, md5, sha256 FROM contents ORDER BY id LIMIT 1"
        ).fetchone()
        digit = "0" if md5[5] != "0" else "1"
        changed = md5[:5] + digit + md5[6:]
        conn.execute("UPDATE contents SET md5 = ? WHERE id = ?", (changed, row_id))
    named = f"contents row {row_id} (sha256 {sha256}, batch 1): values changed since written"
    for args in (["report", "C1", "--out", str(tmp_path / "rep")], ["audit", "verify", "C1"]):
        done = _vigil(home, *args, "--db", url)
        assert done.returncode == 3, (args, done.stdout, done.stderr)
        assert named in " ".join(done.stderr.split()), done.stderr
        assert "Traceback" not in done.stderr
    assert not (tmp_path / "rep").exists()
