"""`vigil scan` of an E01 runs the integrity pass: bad chunks flag the items over them,
the acquisition-hash result is kept with the exhibit and shown in the report."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

DISK = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "disk"
VIGIL = [sys.executable, "-m", "vigil"]


def run(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "VIGIL_HOME": str(home)}
    return subprocess.run(VIGIL + list(args), env=env, capture_output=True, text=True)


def test_bad_chunk_is_recorded_against_its_items_and_in_the_report(tmp_path: Path) -> None:
    names = ("ext2.split.E01", "ext2.split.E02")
    for name in names:
        (tmp_path / name).write_bytes((DISK / "dfvfs" / name).read_bytes())
    segment = tmp_path / names[0]
    data = bytearray(segment.read_bytes())
    at = data.index(b"place,user,password")
    data[at] ^= 0x01
    segment.write_bytes(bytes(data))
    home = tmp_path / "home"
    done = run(home, "scan", str(segment), "--case", "C", "--exhibit", "E1", "-q")
    assert done.returncode == 0, done.stderr
    db = home / "cases" / "C.sqlite"
    with sqlite3.connect(db) as conn:
        flagged = sorted(
            r[0] for r in conn.execute("select location from errors where stage = 'integrity'")
        )
        exhibit = conn.execute(
            "select acquisition_md5, verify_result from exhibits where name = 'E1'"
        ).fetchone()
    # The same three files the source test finds over the flipped chunk, and the image.
    assert flagged == sorted(
        ["EXT/passwords.txt", "EXT/a_directory/a_file", "EXT/a_directory/another_file",
         "ext2.split.E01", "ext2.split.E01"]
    )
    assert exhibit == ("196066add11fb71c4c49cf1bb50d6d24", "mismatch; 1 bad")
    out = tmp_path / "report"
    assert run(home, "report", "C", "--format", "json", "--out", str(out)).returncode == 0
    report = json.loads((out / "report.json").read_text())
    (ex,) = report["exhibits"]
    assert ex["acquisition"]["md5"] == "196066add11fb71c4c49cf1bb50d6d24"
    assert ex["acquisition"]["verify_result"] == "mismatch; 1 bad"
