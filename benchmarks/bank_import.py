"""Import and removal of a national-size hash set, as whole ``vigil hashset`` commands.

    nice -n 10 python benchmarks/bank_import.py --kind pdq --records 10000000
    nice -n 10 python benchmarks/bank_import.py --kind vics --records 10000000

Inputs are generated once (streamed, benign random hashes) and cached as
/tmp/bank2-pdq-N.pdq or /tmp/bank2-vics-N.json. A fresh library first gets a small
second set (the 1,000 first lines or records of a separate file), so that removing the
big set is a removal from a library that keeps something. Then, each under
``/usr/bin/time -v``: ``vigil hashset import`` of the big file, ``vigil hashset list``,
``vigil hashset remove`` of the big set, and ``list`` again. Printed per command: wall,
user and system seconds, peak RSS, the load average before and after.

Targets (issue 13): 10M PDQ lines < 30 s, 10M VICS records < 2 min, both < 1 GB peak;
removal not a rebuild of everything.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from vics_import_memory import write_vics  # noqa: E402

_HEX = np.array([f"{i:02x}".encode() for i in range(256)]).view(np.uint16)
_TIME = {
    "wall": r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)",
    "user": r"User time \(seconds\): (\S+)",
    "system": r"System time \(seconds\): (\S+)",
    "rss_kb": r"Maximum resident set size \(kbytes\): (\d+)",
}


def write_pdq(path: Path, records: int, seed: int = 17) -> None:
    """Write a PDQ list of ``records`` random hashes, one a line (grade given at import)."""
    rng = np.random.default_rng(seed)
    with path.open("wb") as handle:
        for start in range(0, records, 1_000_000):
            count = min(1_000_000, records - start)
            codes = rng.integers(0, 256, (count, 32), dtype=np.uint8)
            text = _HEX[codes].view(np.uint8).reshape(count, 64)
            handle.write(np.hstack([text, np.full((count, 1), 10, np.uint8)]).tobytes())


def source(kind: str, records: int) -> Path:
    """The cached input file, generated on first use."""
    path = Path(f"/tmp/bank2-{kind}-{records}.{'pdq' if kind == 'pdq' else 'json'}")
    if not path.exists():
        partial = path.with_name(path.name + ".part")
        if kind == "pdq":
            write_pdq(partial, records)
        else:
            write_vics(partial, records)
        partial.rename(path)
    return path


def _seconds(text: str) -> float:
    parts = [float(p) for p in text.split(":")]
    return sum(value * 60**power for power, value in enumerate(reversed(parts)))


def timed(home: Path, *args: str) -> dict[str, float]:
    """Run ``vigil ARGS`` under ``/usr/bin/time -v`` (nice 10); its figures."""
    env = {**os.environ, "VIGIL_HOME": str(home)}
    vigil = [sys.executable, "-m", "vigil", *args]
    done = subprocess.run(
        ["nice", "-n", "10", "/usr/bin/time", "-v", *vigil],
        env=env, capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"vigil {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    found = {key: re.search(pattern, done.stderr) for key, pattern in _TIME.items()}
    missing = [key for key, match in found.items() if match is None]
    if missing:
        raise SystemExit(f"no {missing} in /usr/bin/time output:\n{done.stderr[-2000:]}")
    figures = {key: float(m.group(1)) if key != "wall" else _seconds(m.group(1))
               for key, m in found.items() if m is not None}
    print(f"  {' '.join(args[:3])}: {figures['wall']:.1f} s wall, "
          f"{figures['user']:.1f} s user + {figures['system']:.1f} s system, "
          f"peak RSS {figures['rss_kb'] / 1024:.0f} MiB   (load {_load()})", flush=True)
    return figures


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    """Generate, import, list, remove, and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kind", choices=["pdq", "vics"], default="pdq")
    parser.add_argument("--records", type=int, default=10_000_000)
    args = parser.parse_args()
    big = source(args.kind, args.records)
    small = source(args.kind, 1_000)
    print(f"{args.kind}: {args.records:,} records, {big.stat().st_size / 1e6:.0f} MB ({big})")
    print(f"load before: {_load()}")
    home = Path(tempfile.mkdtemp(prefix="bank2-home-", dir="/tmp"))
    try:
        grading = ["--grade", "C", "--scheme", "uk"] if args.kind == "pdq" else []
        fmt = ["--format", args.kind]
        timed(home, "hashset", "import", str(small), "--name", "small", *fmt, *grading)
        figures = timed(home, "hashset", "import", str(big), "--name", "national",
                        *fmt, *grading)
        timed(home, "hashset", "list")
        removal = timed(home, "hashset", "remove", "national")
        timed(home, "hashset", "list")
        rate = args.records / figures["wall"]
        cpu = figures["user"] + figures["system"]
        print(f"import: {rate:,.0f} records/s wall, {args.records / cpu:,.0f} per CPU-second; "
              f"removal {removal['wall']:.1f} s")
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(f"load after: {_load()}")


if __name__ == "__main__":
    main()
