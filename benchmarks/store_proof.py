"""What proving the store's rows costs: `vigil scan`, `vigil report` and `vigil audit verify`
of many small files, against the same commands of a baseline checkout in the same run.

Every written row is digested (SHA-256) and each write batch's digest is chained into
the audit chain; `vigil report` and `vigil audit verify` recompute every digest. The
evidence is N benign text notes (many rows, little hashing), which makes the store's
share of the work as large as it gets. Each command runs as its own process; its wall
time and peak RSS (from ``wait4``) are reported.

    python benchmarks/store_proof.py [--files 20000] [--baseline-src /path/to/other/src]

Without ``--baseline-src`` only this tree is measured.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def notes(count: int) -> Path:
    """N small benign notes in 100-file folders, cached under /tmp."""
    folder = Path(f"/tmp/integrity-bench-notes-{count}")
    done = folder / ".complete"
    if not done.exists():
        for i in range(count):
            sub = folder / f"d{i // 100:04d}"
            sub.mkdir(parents=True, exist_ok=True)
            (sub / f"note-{i:06d}.txt").write_text(f"benign note number {i}\n")
        done.write_text("")
    return folder


def run(src: Path, home: Path, *args: str) -> tuple[float, float]:
    """Run ``vigil ARGS`` with ``src`` first on the path: (seconds, peak RSS MB)."""
    env = {**os.environ, "VIGIL_HOME": str(home), "PYTHONPATH": str(src)}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "vigil", *args], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"vigil {' '.join(args)} failed: {proc.stderr.read().decode()}")
    proc.stderr.close()
    return seconds, usage.ru_maxrss / 1024


def measure(label: str, src: Path, evidence: Path, work: Path, verify: bool) -> None:
    """Scan, report (JSON and CSV) and, if the tree has it, verify; print one row."""
    home = work / f"home-{label}"
    home.mkdir()
    db = f"sqlite:///{work / (label + '.sqlite')}"
    scan = run(src, home, "scan", str(evidence), "--case", "B1", "--exhibit", "E1", "-q",
               "--db", db)
    report = run(src, home, "report", "B1", "--format", "json,csv", "--out",
                 str(work / f"report-{label}"), "--db", db)
    audit = run(src, home, "audit", "verify", "B1", "--db", db) if verify else None
    size = (work / f"{label}.sqlite").stat().st_size / 1e6
    cells = [f"{scan[0]:.1f} s ({scan[1]:.0f} MB)", f"{report[0]:.1f} s ({report[1]:.0f} MB)",
             f"{audit[0]:.1f} s ({audit[1]:.0f} MB)" if audit else "-", f"{size:.1f} MB"]
    print(f"| {label} | " + " | ".join(cells) + " |", flush=True)


def main() -> None:
    """Measure this tree (and the baseline, if given) on the same evidence."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--baseline-src", type=Path, default=None)
    args = parser.parse_args()
    evidence = notes(args.files)
    print(f"load before: {os.getloadavg()[0]:.2f}; {args.files} files")
    print("| tree | scan | report json,csv | audit verify | store |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="integrity-bench-") as tmp:
        work = Path(tmp)
        if args.baseline_src is not None:
            measure("baseline", args.baseline_src, evidence, work, verify=False)
        measure("this tree", SRC, evidence, work, verify=True)
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
