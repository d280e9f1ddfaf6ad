"""Helpers shared by test modules (importable because conftest puts tests/ on sys.path)."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / ".." / "shared").resolve()
VIGIL = [sys.executable, "-m", "vigil"]


def run_vigil(args: list[str], home: Path, drop_read_override: bool = False) -> str:
    """Run the real CLI with ``VIGIL_HOME=home``; assert success; return its stdout.

    With ``drop_read_override`` a root process loses the right to read any file, so
    a file with mode 000 is unreadable as it would be for an ordinary user.
    """
    cmd = VIGIL + args
    if drop_read_override and os.geteuid() == 0:
        cmd = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *cmd]
    env = {**os.environ, "VIGIL_HOME": str(home)}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout
