"""What keeping the lab content index costs a scan: the same pictures with and without.

    PYTHONPATH=src nice -n 10 .venv/bin/python benchmarks/lab_index.py [--pictures 3000]

The corpus is benchmarks/archives.py's folder of small generated benign pictures
(cached under /tmp/vigil-bench-archives). Each scan is a whole ``vigil scan`` process
tree in a fresh VIGIL_HOME, in this order: without the index (``--no-lab-index``), with
it (an empty lab), with it again as a second case (the lab already holds every content,
so only holder rows are new), and without it once more; the two scans without are the
peers (their mean). Wall and CPU time (user + system of the process tree) are printed,
and the index step alone is timed in this process on the finished case store.

Target (issue 18): a scan must not become noticeably slower: the index step within 5%
of the scan's time.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from archives import make_folder  # noqa: E402
from scale import timed_scan  # noqa: E402


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def scan(home: Path, evidence: Path, case: str, extra: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one ``vigil scan`` process tree."""
    before = _cpu()
    wall, _peak = timed_scan(home, evidence, case, extra, [])
    return wall, _cpu() - before


def index_step(home: Path, case: str) -> tuple[float, int]:
    """Seconds and contents of indexing exhibit E of ``case`` again, in this process."""
    from vigil.intel.index import index_exhibit
    from vigil.store.api import CaseStore, default_store_url
    from vigil.web.lab import default_lab_url, open_lab

    lab = open_lab(default_lab_url(home))
    store = CaseStore(default_store_url(home, case))
    start = time.perf_counter()
    result = index_exhibit(lab, store, case, "E")
    seconds = time.perf_counter() - start
    store.close()
    lab.dispose()
    return seconds, result.contents


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pictures", type=int, default=3000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    evidence = make_folder(args.pictures, 0)
    workers = ["--workers", str(args.workers)]
    print(f"{args.pictures} pictures, load {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="intel-bench-") as tmp:
        root = Path(tmp)
        runs = []
        for label, home, case, extra in (
            ("without", root / "a", "C1", ["--no-lab-index"]),
            ("with (empty lab)", root / "b", "C1", []),
            ("with (second case, contents known)", root / "b", "C2", []),
            ("without", root / "c", "C1", ["--no-lab-index"]),
        ):
            home.mkdir(exist_ok=True)
            wall, cpu = scan(home, evidence, case, [*workers, *extra])
            runs.append((label, wall, cpu))
            print(f"{label}: wall {wall:.1f} s, CPU {cpu:.1f} s, load {os.getloadavg()[0]:.2f}")
        peer_wall = (runs[0][1] + runs[3][1]) / 2
        peer_cpu = (runs[0][2] + runs[3][2]) / 2
        for label, wall, cpu in runs[1:3]:
            print(f"{label}: {wall / peer_wall:.3f}x wall, {cpu / peer_cpu:.3f}x CPU of the peers")
        for case in ("C1", "C2"):
            seconds, contents = index_step(root / "b", case)
            share = seconds / peer_wall * 100
            print(f"index step alone, {case} ({contents} contents): {seconds:.3f} s ({share:.2f}%)")


if __name__ == "__main__":
    main()
