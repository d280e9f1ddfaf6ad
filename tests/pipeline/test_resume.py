"""A real scan process killed with SIGKILL and resumed ends exactly like an uninterrupted one."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil

from corpus_support import count_items, make_corpus, store_state, write_known_md5

VIGIL = [sys.executable, "-m", "vigil"]
FILES = 12_000


def _scan(home: Path, evidence: Path, case: str, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "VIGIL_HOME": str(home)}
    return subprocess.Popen(
        VIGIL
        + [
            "scan",
            str(evidence),
            "--case",
            case,
            "--exhibit",
            "E1",
            "-q",
            "--workers",
            "2",
            *extra,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _kill_after(proc: subprocess.Popen, db: Path, threshold: int) -> int:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        n = count_items(db)
        if n >= threshold:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return n
        if proc.poll() is not None:
            raise AssertionError(f"scan finished before it could be killed ({n} items)")
        time.sleep(0.01)
    raise AssertionError("scan made no progress")


def test_kill_and_resume_equals_uninterrupted(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    evidence = tmp_path / "evidence"
    make_corpus(evidence, FILES)
    sets = write_known_md5(tmp_path / "known.md5", 50)
    env = {**os.environ, "VIGIL_HOME": str(home)}
    subprocess.run(
        VIGIL + ["hashset", "import", str(sets), "--name", "k", "--grade", "C", "--scheme", "uk"],
        env=env,
        check=True,
        capture_output=True,
    )

    full = _scan(home, evidence, "FULL")
    assert full.wait(timeout=600) == 0
    expected = store_state(home / "cases" / "FULL.sqlite")
    assert len(expected[0]) == FILES + 1 + 2 * (FILES // 500)
    assert len(expected[2]) > 0

    db = home / "cases" / "CUT.sqlite"
    # 20 kill points drawn at random (seeded, so a failure can be replayed).
    points = sorted(random.Random(2026).sample(range(3, 95), 20))
    killed_at = []
    for n, percent in enumerate(points):
        proc = _scan(home, evidence, "CUT", *(["--resume"] if n else []))
        killed_at.append(_kill_after(proc, db, FILES * percent // 100))
    assert killed_at == sorted(killed_at) and killed_at[-1] < FILES
    proc = _scan(home, evidence, "CUT", "--resume")
    assert proc.wait(timeout=600) == 0
    assert store_state(db) == expected


def test_a_killed_worker_is_replaced_and_its_unit_run_again(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    evidence = tmp_path / "evidence"
    make_corpus(evidence, 4000)
    full = _scan(home, evidence, "FULL")
    assert full.wait(timeout=600) == 0
    expected = store_state(home / "cases" / "FULL.sqlite")
    db = home / "cases" / "LOST.sqlite"
    proc = _scan(home, evidence, "LOST")
    deadline = time.monotonic() + 120
    while count_items(db) < 1000 and time.monotonic() < deadline:
        time.sleep(0.01)
    workers = psutil.Process(proc.pid).children()
    assert workers, "no worker processes"
    workers[0].kill()  # SIGKILL: as the kernel's OOM killer would
    assert proc.wait(timeout=600) == 0
    assert store_state(db) == expected
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from errors where stage = 'worker'").fetchone() == (
            0,
        )
