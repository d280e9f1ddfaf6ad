"""`vigil scan` over the hostile-evidence corpus: the same outcome as the source listing,
from the case store of a whole scan, and the evidence unchanged.

Every planted picture that Sleuth Kit can still recover is found with its exact MD5,
everything else has a record with its reason, no scan fails. (Its time and peak memory
over the whole corpus are measured by ``benchmarks/hostile_scan.py``.)
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from hostile.build_hostile import build_all, outcome_problems
from hostile.test_hostile_sources import _digest
from vigil.names import unescape_name

FOLDER, CASES = build_all()
VIGIL = [sys.executable, "-m", "vigil"]


def scan_outcome(home: Path, evidence: Path, case: str) -> tuple[dict, list]:
    """Top-level items -> MD5 and every record, read from a finished scan's store."""
    env = {**os.environ, "VIGIL_HOME": str(home)}
    done = subprocess.run(
        VIGIL + ["scan", str(evidence), "--case", case, "--exhibit", "E1", "-q", "--workers", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    with sqlite3.connect(home / "cases" / f"{case}.sqlite") as conn:
        rows = conn.execute(
            "select i.path, c.md5 from items i left join contents c "
            "on c.id = i.content_id where i.parent_path is null"
        ).fetchall()
        records = conn.execute("select location, stage, reason from errors").fetchall()
    # The store holds display forms; the pipeline's own names are their unescaping.
    found = {unescape_name(display): digest for display, digest in rows}
    return found, [(unescape_name(loc), stage, reason) for loc, stage, reason in records]


@pytest.mark.parametrize("name", sorted(CASES))
def test_scan_outcome(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    evidence = FOLDER / case.evidence
    files = [evidence] if evidence.is_file() else sorted(evidence.rglob("*"))
    before = {p: (p.lstat().st_size, p.lstat().st_mtime_ns) for p in files}
    digests = {p: _digest(p) for p in files if p.is_file() and not p.is_symlink()}
    found, records = scan_outcome(tmp_path / "home", evidence, "HOSTILE")
    assert outcome_problems(case, found, records) == []
    assert {p: (p.lstat().st_size, p.lstat().st_mtime_ns) for p in files} == before
    assert {p: _digest(p) for p in digests} == digests
