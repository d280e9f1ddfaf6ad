"""`vigil doctor` names every backend and fails when a required one is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from vigil.doctor import MODULES, run_checks


def test_every_backend_is_present_here() -> None:
    checks = run_checks()
    assert len(checks) >= len(MODULES)
    assert [c.name for c in checks if c.required and not c.found] == []


def test_missing_backend_fails_loudly(tmp_path: Path) -> None:
    # libarchive-c pointed at a library that is not there: every archive kind is gone,
    # and doctor must say so and exit 3.
    env = {**os.environ, "LIBARCHIVE": str(tmp_path / "libarchive.so.13"), "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-m", "vigil", "doctor"], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 3
    line = next(x for x in proc.stdout.splitlines() if "libarchive-c" in x)
    assert "MISSING" in line
