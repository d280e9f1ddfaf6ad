"""Store failures: disk full, locked, damaged; one writer per exhibit, taken over after a crash.

Each failure is one clear message and exit 3 (the README's store code), with no
traceback; the store stays consistent and a resume after the cause is fixed completes.
"""

from __future__ import annotations

import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from vigil.errors import BatchRejected, StoreError
from vigil.model import Hashes, Item
from vigil.pipeline.scan import ScanSettings
from vigil.store.api import CaseStore, ItemRecord
from vigil.store.failures import store_failure

VIGIL = [sys.executable, "-m", "vigil"]


def _vigil(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "VIGIL_HOME": str(home)}
    return subprocess.run([*VIGIL, *args], env=env, capture_output=True, text=True, timeout=600)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _notes(folder: Path, n: int) -> Path:
    """``n`` small benign text files with long names (big rows, little content)."""
    for i in range(n):
        sub = folder / f"d{i // 100:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / (f"benign-note-{i:05d}-" + "x" * 150 + ".txt")).write_text(f"note {i}\n")
    return folder


def _items(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT i.path, c.md5 FROM items i LEFT JOIN contents c ON c.id = i.content_id "
            "ORDER BY i.path"
        ).fetchall()


@pytest.fixture(scope="module")
def notes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """1500 notes and their uninterrupted scan, to compare every resumed scan with."""
    base = tmp_path_factory.mktemp("failures")
    home = base / "home"
    home.mkdir()
    evidence = _notes(base / "evidence", 1500)
    db = base / "whole.sqlite"
    done = _vigil(home, "scan", str(evidence), "--case", "C1", "--exhibit", "E1", "-q",
                  "--db", f"sqlite:///{db}")
    assert done.returncode == 0, done.stderr
    return {"base": base, "home": home, "evidence": evidence, "whole": db}


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 700 KiB tmpfs (the tests run as root, as `make test` and CI do)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=700k", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def test_disk_full_stops_cleanly_and_resume_completes(
    notes: dict[str, Path], tiny_disk: Path
) -> None:
    db = tiny_disk / "c.sqlite"
    url = f"sqlite:///{db}"
    scan = ["scan", str(notes["evidence"]), "--case", "C1", "--exhibit", "E1", "-q", "--db", url]
    full = _vigil(notes["home"], *scan)
    assert full.returncode == 3, full.stderr
    message = _one_line(full.stderr)
    assert message.startswith(f"error: case store {url}: the disk is full (database or disk is")
    assert "run the same command again (a scan: with --resume)" in message
    assert "Traceback" not in full.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        kept = conn.execute("SELECT count(*) FROM items").fetchone()[0]
        assert conn.execute("SELECT status FROM scans").fetchall() == [("running",)]
    assert 0 < kept < 1500
    verify = _vigil(notes["home"], "audit", "verify", "C1", "--db", url)
    assert verify.returncode == 0 and "chain intact" in verify.stdout, verify.stderr
    # The cause fixed: room on the disk. The resume finishes what is missing.
    subprocess.run(["mount", "-o", "remount,size=40m", str(tiny_disk)], check=True)
    resumed = _vigil(notes["home"], *scan, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert _items(db) == _items(notes["whole"])
    assert len(_items(db)) == 1500
    verify = _vigil(notes["home"], "audit", "verify", "C1", "--db", url)
    assert verify.returncode == 0 and "3000 rows match" in verify.stdout, verify.stdout


def _record(n: int) -> ItemRecord:
    h = Hashes(size=1, md5=f"{n:032x}", sha1=f"{n:040x}", sha256=f"{n:064x}")
    return ItemRecord(Item(path=f"f{n}.jpg", open=lambda: io.BytesIO(b"")), h)


def test_locked_store_is_one_message_and_nothing_half_written(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    store = CaseStore(f"sqlite:///{db}", busy_timeout=0.2)
    ctx = store.begin_scan("C1", "E1", tmp_path, "folder", {}, [], resume=False)
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    with pytest.raises(StoreError) as caught:
        store.write_batch(ctx, [_record(1)], [], [], {})
    assert str(caught.value) == (
        f"case store sqlite:///{db} is locked by another process (database is locked) "
        "while writing scan results; nothing was written. Wait for the other process "
        "to finish, then run the command again"
    )
    other.execute("ROLLBACK")
    other.close()
    ids: dict[str, int] = {}
    store.write_batch(ctx, [_record(1)], [], [], ids)
    assert list(ids) == [f"{1:064x}"]
    assert store.done_items(ctx) == {"f1.jpg": None}
    store.close()


@pytest.mark.parametrize("damage", ["page", "cell"])
def test_damaged_store_is_exit_3_without_traceback(
    notes: dict[str, Path], tmp_path: Path, damage: str
) -> None:
    db = tmp_path / "c.sqlite"
    with sqlite3.connect(notes["whole"]) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
        dst.execute("UPDATE scans SET status = 'running'")  # as if interrupted
    url = f"sqlite:///{db}"
    if damage == "cell":
        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE items SET path = CAST(x'ff41' AS TEXT) WHERE id = 7")
        expected = "is damaged (Could not decode to UTF-8 column 'path' with text"
    else:
        with sqlite3.connect(db) as conn:
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
        with open(db, "r+b") as f:
            f.seek(4096 * (pages // 2))
            f.write(b"\xa5" * 4096 * 4)
        expected = "is damaged (database disk image is malformed)"
    for args in (
        ["report", "C1", "--out", str(tmp_path / "rep")],
        ["audit", "verify", "C1"],
        ["scan", str(notes["evidence"]), "--case", "C1", "--exhibit", "E1", "--resume", "-q"],
    ):
        done = _vigil(notes["home"], *args, "--db", url)
        assert done.returncode == 3, (args, done.stdout, done.stderr)
        assert expected in _one_line(done.stderr), (args, done.stderr)
        assert "Traceback" not in done.stderr


_HOLDER = """
import sys, time
from pathlib import Path
from vigil.pipeline.scan import ScanSettings
from vigil.store.api import CaseStore
store = CaseStore(sys.argv[1])
settings = ScanSettings().as_dict()  # what a default `vigil scan` records
store.begin_scan("C1", sys.argv[3], Path(sys.argv[2]).resolve(), "folder", settings, [], True)
print("holding", flush=True)
time.sleep(600)
"""


def _hold(url: str, evidence: Path, exhibit: str = "E1") -> subprocess.Popen:
    """A process that (re)opens the scan of an exhibit of C1 and hangs, holding its lock."""
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, url, str(evidence), exhibit],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "holding\n"
    return proc


def test_second_writer_is_refused_and_a_killed_writer_is_taken_over(
    notes: dict[str, Path], tmp_path: Path
) -> None:
    home = notes["home"]
    db = tmp_path / "c.sqlite"
    url = f"sqlite:///{db}"
    scan = ["scan", str(notes["evidence"]), "--case", "C1", "--exhibit", "E1", "-q", "--db", url]
    # A real scan killed -9 part way: some batches written, status still running.
    env = {**os.environ, "VIGIL_HOME": str(home)}
    first = subprocess.Popen([*VIGIL, *scan, "--workers", "1"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    written = 0
    while time.monotonic() < deadline and not written:
        time.sleep(0.05)
        try:
            with sqlite3.connect(db, timeout=5) as conn:
                written = conn.execute("SELECT count(*) FROM items").fetchone()[0]
        except sqlite3.OperationalError:
            pass
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert written > 0, "the scan wrote nothing before it was killed"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT status FROM scans").fetchall() == [("running",)]
        assert conn.execute("SELECT count(*) FROM items").fetchone()[0] < 1500

    holder = _hold(url, notes["evidence"])  # took over the dead scan's lock
    try:
        refused = _vigil(home, *scan, "--resume")
        assert refused.returncode == 3, refused.stderr
        message = _one_line(refused.stderr)
        assert message.startswith(
            f"error: exhibit 'E1' of case 'C1' is being written by another vigil process "
            f"(pid {holder.pid} on "
        ), message
        assert "only one scan of an exhibit may run at a time" in message
        assert "Traceback" not in refused.stderr
    finally:
        holder.kill()  # kill -9 of the holder: its lock goes with it
        holder.communicate()
    resumed = _vigil(home, *scan, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert _items(db) == _items(notes["whole"])
    verify = _vigil(home, "audit", "verify", "C1", "--db", url)
    assert verify.returncode == 0 and "3000 rows match" in verify.stdout, verify.stdout


def test_postgres_writer_lock(postgres: str, tmp_path: Path) -> None:
    from postgres_server import create_database

    url = create_database(postgres, "writerlock")
    first = CaseStore(url)
    first.begin_scan("C1", "E1", tmp_path, "folder", {}, [], resume=False)
    second = CaseStore(url)
    with pytest.raises(StoreError) as caught:
        second.begin_scan("C1", "E1", tmp_path, "folder", {}, [], resume=True)
    assert str(caught.value).startswith(
        "exhibit 'E1' of case 'C1' is being written by another vigil process (server session "
    )
    other = second.begin_scan("C1", "E2", tmp_path / "x", "folder", {}, [], resume=False)
    second.finish_scan(other)  # another exhibit is never blocked
    first.close()  # released: the resume may go on
    ctx = second.begin_scan("C1", "E1", tmp_path, "folder", {}, [], resume=True)
    second.finish_scan(ctx)
    # A holder killed -9: the server ends its session and the lock with it.
    holder = _hold(url, tmp_path, "E3")
    with pytest.raises(StoreError):
        second.begin_scan("C1", "E3", tmp_path, "folder", {}, [], resume=True)
    holder.kill()
    holder.communicate()
    settings = ScanSettings().as_dict()
    for _ in range(100):
        try:
            second.begin_scan("C1", "E3", tmp_path.resolve(), "folder", settings, [], resume=True)
            break
        except StoreError:
            time.sleep(0.1)
    else:
        raise AssertionError("the killed holder's advisory lock was never released")
    second.close()


@pytest.mark.parametrize(
    ("driver_text", "kind", "start"),
    [
        ("database or disk is full", StoreError, "case store U: the disk is full"),
        ('could not extend file "base/1/2": No space left on device', StoreError,
         "case store U: the disk is full"),
        ("database is locked", StoreError, "case store U is locked by another process"),
        ("canceling statement due to lock timeout", StoreError,
         "case store U is locked by another process"),
        ("database disk image is malformed", StoreError, "case store U is damaged"),
        ("disk I/O error", StoreError, "case store U: the disk or file system failed"),
        ("attempt to write a readonly database", StoreError,
         "case store U: the disk or file system failed"),
        ("UNIQUE constraint failed: items.path", BatchRejected,
         "case store U refused the values while writing"),
        ("something new", StoreError, "cannot use case store U while writing"),
    ],
)
def test_failure_messages(driver_text: str, kind: type, start: str) -> None:
    cls = IntegrityError if "UNIQUE" in driver_text else OperationalError
    error = store_failure(
        cls("INSERT ...", {}, sqlite3.OperationalError(driver_text)),
        "postgresql://vigil:secret@db.lab/cases",
        "writing scan results",
    )
    assert type(error) is kind
    assert str(error).startswith(start.replace("U", "postgresql://vigil:***@db.lab/cases"))
    assert "secret" not in str(error) and driver_text in str(error)
