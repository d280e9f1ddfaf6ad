"""A real scan process killed with SIGKILL and resumed ends exactly like an uninterrupted one."""

from __future__ import annotations

import hashlib
import io
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from vigil.demo import draw_landscape

VIGIL = [sys.executable, "-m", "vigil"]
FILES = 12_000


def _make_corpus(root: Path) -> None:
    rng = random.Random(7)
    pictures = []
    for i in range(8):
        buf = io.BytesIO()
        draw_landscape(i, (96, 72)).save(buf, "JPEG", quality=85)
        pictures.append(buf.getvalue())
    for i in range(FILES):
        folder = root / f"d{i % 37:02d}" / f"s{i % 11}"
        folder.mkdir(parents=True, exist_ok=True)
        if i % 500 == 0:
            with zipfile.ZipFile(folder / f"archive{i}.zip", "w") as zf:
                zf.writestr("a.txt", f"member {i}")
                zf.writestr("pics/p.jpg", pictures[i % 8])
        elif i % 97 == 0:
            (folder / f"pic{i}.jpg").write_bytes(pictures[i % 8])
        else:
            # Many duplicates: contents repeat every 1,000 files.
            (folder / f"f{i}.bin").write_bytes(f"content {i % 1000} ".encode() * (1 + i % 5))
    (root / "noise.bin").write_bytes(rng.randbytes(3000))


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


def _count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("select count(*) from items").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def _state(db: Path) -> tuple[list, list, list]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        items = conn.execute(
            "select i.path, c.sha256, i.expanded from items i left join contents c "
            "on c.id = i.content_id order by i.path"
        ).fetchall()
        contents = conn.execute(
            "select sha256, md5, media from contents order by sha256"
        ).fetchall()
        matches = conn.execute(
            "select c.sha256, m.hashset, m.entry_id from matches m join contents c "
            "on c.id = m.content_id order by 1, 2, 3"
        ).fetchall()
    return items, contents, matches


def _kill_after(proc: subprocess.Popen, db: Path, threshold: int) -> int:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        n = _count(db)
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
    _make_corpus(evidence)
    sets = tmp_path / "known.md5"
    sets.write_text(
        "".join(
            f"{hashlib.md5(f'content {k} '.encode()).hexdigest()}  c{k}\n"
            for k in range(0, 1000, 50)
        )
    )
    env = {**os.environ, "VIGIL_HOME": str(home)}
    subprocess.run(
        VIGIL + ["hashset", "import", str(sets), "--name", "k", "--grade", "C", "--scheme", "uk"],
        env=env,
        check=True,
        capture_output=True,
    )

    full = _scan(home, evidence, "FULL")
    assert full.wait(timeout=600) == 0
    expected = _state(home / "cases" / "FULL.sqlite")
    assert len(expected[0]) == FILES + 1 + 2 * (FILES // 500)
    assert len(expected[2]) > 0

    db = home / "cases" / "CUT.sqlite"
    killed_at = []
    proc = _scan(home, evidence, "CUT")
    killed_at.append(_kill_after(proc, db, FILES // 5))
    proc = _scan(home, evidence, "CUT", "--resume")
    killed_at.append(_kill_after(proc, db, FILES // 2))
    assert killed_at[0] < FILES // 2
    proc = _scan(home, evidence, "CUT", "--resume")
    assert proc.wait(timeout=600) == 0
    assert _state(db) == expected
