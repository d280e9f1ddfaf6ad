"""The hostile-evidence corpus scanned whole: time, peak memory, nothing written elsewhere.

    .venv/bin/python benchmarks/hostile_scan.py

Builds (or reuses) ``tests/hostile/build_hostile.py``'s corpus (damaged NTFS, FAT32,
ext4, GPT and MBR images, bad and truncated E01s, a folder with links, FIFOs, odd names
and a 20 GiB sparse file; benign generated pictures), then scans every case with
``vigil scan`` (2 workers) as a whole process tree, each into a fresh case, with
``TMPDIR`` pointed at an empty folder. Reports the total time (limit 10 min), the
largest peak RSS of one scan's tree (limit 2 GB), each case's outcome problems (must be
none) and whether anything was written to ``TMPDIR`` or the evidence (must not be).
"""

from __future__ import annotations

import os
import sqlite3
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from hostile.build_hostile import build_all, outcome_problems  # noqa: E402
from scale import timed_scan  # noqa: E402
from vigil.names import unescape_name  # noqa: E402


def tree_state(root: Path) -> dict[str, tuple[int, int]]:
    files = [root] if root.is_file() else sorted(root.rglob("*"))
    return {str(p): (p.lstat().st_size, p.lstat().st_mtime_ns) for p in files}


def main() -> None:
    folder, cases = build_all()
    total, peak_max, problems = 0.0, 0, 0
    with tempfile.TemporaryDirectory(prefix="vigil-bench-hostile-") as tmp:
        root = Path(tmp)
        scratch = root / "tmpdir"
        scratch.mkdir()
        os.environ["TMPDIR"] = str(scratch)
        for name, case in sorted(cases.items()):
            evidence = folder / case.evidence
            before = tree_state(evidence)
            seconds, peak = timed_scan(root / "home", evidence, name, ["--workers", "2"], [])
            total += seconds
            peak_max = max(peak_max, peak)
            with sqlite3.connect(root / "home" / "cases" / f"{name}.sqlite") as conn:
                found = {
                    unescape_name(p): md5
                    for p, md5 in conn.execute(
                        "select i.path, c.md5 from items i left join contents c "
                        "on c.id = i.content_id where i.parent_path is null"
                    )
                }
                records = [
                    (unescape_name(loc), stage, reason)
                    for loc, stage, reason in conn.execute(
                        "select location, stage, reason from errors"
                    )
                ]
            wrong = outcome_problems(case, found, records)
            problems += len(wrong)
            changed = tree_state(evidence) != before
            print(
                f"{name:22} {seconds:6.1f} s  peak {peak / 2**20:5.0f} MiB  {len(found):4} items "
                f"{len(records):4} records  problems {len(wrong)}"
                f"{'  EVIDENCE CHANGED' if changed else ''}"
            )
            for line in wrong:
                print(f"    {line}")
        stray = sorted(str(p.relative_to(scratch)) for p in scratch.rglob("*"))
    verdict = "met" if total < 600 and peak_max < 2 * 2**30 and not problems and not stray else (
        "MISSED"
    )
    print(
        f"all cases: {total:.0f} s (limit 600), largest peak {peak_max / 2**20:.0f} MiB "
        f"(limit 2048), {problems} problems, written to TMPDIR: {stray or 'nothing'}: {verdict}"
    )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
