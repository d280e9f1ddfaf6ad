"""Deconfliction of one case against a large lab content index: `vigil intel Q --json`.

    nice -n 19 .venv/bin/python benchmarks/deconfliction.py --index 50000000 --case 1000000 \
        --build-only                       # outside the lock
    flock /tmp/vigil-bench.lock .venv/bin/python benchmarks/deconfliction.py \
        --index 50000000 --case 1000000    # timed

The lab (cached under /tmp/intel2-decon-INDEX-CASE) holds ``--index`` pictures of 100
other cases and a case ``Q`` of ``--case`` contents: a tenth of Q's contents are held by
another case as well (exact), a tenth are pictures 6 bits from another case's picture
(perceptual), the rest are new. Every PDQ is random, quality 90.

How it is written (the same code a scan uses to add to the lab index):

- Q's exhibit and the other cases' linked contents (2 x case/10 pictures, one exhibit
  per other case) go through ``intel.index.index_rows``: lab-store rows, then one delta
  PDQ file per exhibit (``pdq_files``), merged as they pile up.
- The rest of the other cases' pictures (``--index`` minus the linked ones) go through
  ``PdqFiles.add`` only, the call ``index_rows`` ends in, in deltas of ``--delta``
  pictures with ids past the lab store's. They are not written as lab-store rows: at
  about 400 bytes a row with its indexes, 50M rows would be 20 GB of SQLite on a
  shared disk. No query reads them from the lab store either (none of them is linked:
  random hashes are not within 31 bits of each other), so what is measured is what a
  lab of that size costs a query: the search of all its pictures.

The timed part runs `vigil intel Q --json --user bench` as its own process (wall time
and peak RSS from ``wait4``), with the files already up to date, and checks that the
listing has exactly the planted links.

Target (issue 18): a 1M-content case against a 50M-content index in < 5 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))
OTHER_CASES = 100
PASSWORD = "quiet-harbour-lamp-41"
SYNTHETIC_FIRST_ID = 1_000_000_000  # ids of the file-only pictures (past the lab's)


def _row(sha: bytes, code: np.ndarray) -> dict:
    text = sha.hex()
    return {"sha256": text, "sha1": text[:40], "md5": text[:32], "size": 1000,
            "media": "image", "pdq": code.tobytes().hex(), "pdq_quality": 90, "n": 1}


def _near(code: np.ndarray) -> np.ndarray:
    out = code.copy()
    for bit in (0, 37, 80, 129, 200, 255):
        out[bit // 8] ^= np.uint8(1 << (bit % 8))
    return out


def build(folder: Path, index: int, case: int, delta: int, seed: int = 18) -> None:
    """Write the lab at ``folder / 'lab.sqlite'`` (see the module docstring)."""
    from vigil.intel.index import index_rows
    from vigil.intel.pdq_files import PdqFiles, lab_folder
    from vigil.web.accounts import add_user, assign
    from vigil.web.lab import open_lab

    rng = np.random.default_rng(seed)
    lab = open_lab(f"sqlite:///{folder / 'lab.sqlite'}")
    shared = case // 10
    linked_codes = rng.integers(0, 256, (2 * shared, 32), dtype=np.uint8)
    linked_shas = rng.integers(0, 256, (2 * shared, 32), dtype=np.uint8)
    linked = [_row(linked_shas[i].tobytes(), linked_codes[i]) for i in range(2 * shared)]
    for other in range(OTHER_CASES):
        rows = linked[other :: OTHER_CASES]
        index_rows(lab, f"OTHER-{other}", "E", rows)
    fresh = case - 2 * shared
    fresh_codes = rng.integers(0, 256, (fresh, 32), dtype=np.uint8)
    fresh_shas = rng.integers(0, 256, (shared + fresh, 32), dtype=np.uint8)
    mine = linked[:shared]  # exact: the same contents
    mine += [_row(fresh_shas[i].tobytes(), _near(linked_codes[shared + i]))
             for i in range(shared)]
    mine += [_row(fresh_shas[shared + i].tobytes(), fresh_codes[i]) for i in range(fresh)]
    del fresh_codes, fresh_shas
    started = time.perf_counter()
    index_rows(lab, "Q", "E", mine)
    print(f"indexed Q ({case:,} contents, the scan's path) in "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    del mine, linked
    add_user(lab, "bench", "examiner", PASSWORD)
    for name in ["Q", *(f"OTHER-{k}" for k in range(OTHER_CASES))]:
        assign(lab, "bench", name, "benchmark")
    files = PdqFiles(lab_folder(lab))  # type: ignore[arg-type]
    rest = index - 2 * shared
    for start in range(0, rest, delta):
        n = min(delta, rest - start)
        ids = np.arange(SYNTHETIC_FIRST_ID + start, SYNTHETIC_FIRST_ID + start + n,
                        dtype=np.int64)
        codes = rng.integers(0, 256, (n, 32), dtype=np.uint8)
        started = time.perf_counter()
        with files.locked() as manifest:
            files.add(manifest, ids, codes, manifest.covered, 0)
        print(f"delta of {n:,} pictures in {time.perf_counter() - started:.1f} s", flush=True)
        del ids, codes
    lab.dispose()


def run_intel(folder: Path, home: Path) -> tuple[float, float, dict]:
    """``vigil intel Q --json`` as a process: (seconds, peak RSS MiB, the listing)."""
    env = {**os.environ, "VIGIL_HOME": str(home), "PYTHONPATH": str(SRC)}
    with tempfile.TemporaryFile() as listing:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "vigil", "intel", "Q", "--json", "--user", "bench",
             "--lab-db", f"sqlite:///{folder / 'lab.sqlite'}"],
            env=env, stdout=listing, stderr=subprocess.PIPE,
        )
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"vigil intel failed: {proc.stderr.read().decode()}")  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
        listing.seek(0)
        return seconds, usage.ru_maxrss / 1024, json.load(listing)


def main() -> None:
    """Build (cached), then time `vigil intel` and check its links."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=int, default=1_000_000)
    ap.add_argument("--case", type=int, default=100_000)
    ap.add_argument("--delta", type=int, default=10_000_000,
                    help="pictures per file-only delta")
    ap.add_argument("--build-only", action="store_true")
    args = ap.parse_args()
    folder = Path(f"/tmp/intel2-decon-{args.index}-{args.case}")
    if not (folder / ".complete").exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        start = time.perf_counter()
        build(folder, args.index, args.case, args.delta)
        (folder / ".complete").write_text("")
        print(f"built {folder} in {time.perf_counter() - start:.1f} s", flush=True)
    files = folder / "lab.sqlite.intel"
    size = sum(p.stat().st_size for p in files.glob("*.idx")) / 1e9
    manifest = json.loads((files / "manifest.json").read_text())
    print(f"PDQ files: {size:.2f} GB, segments {[c for _n, c in manifest['segments']]}; "
          f"lab store {(folder / 'lab.sqlite').stat().st_size / 1e9:.2f} GB", flush=True)
    if args.build_only:
        return
    home = Path(tempfile.mkdtemp(prefix="intel2-decon-home-"))
    print(f"index {args.index:,}, case {args.case:,}, load {os.getloadavg()[0]:.2f}",
          flush=True)
    seconds, rss, view = run_intel(folder, home)
    shutil.rmtree(home, ignore_errors=True)
    exact = sum(1 for r in view["shared"] for k in r["links"] if k["basis"] == "exact")
    near = sum(1 for r in view["shared"] for k in r["links"]
               if k["basis"] == "perceptual" and k["distance"] == 6)
    other = sum(len(r["links"]) for r in view["shared"]) - exact - near
    expected = (args.case // 10, args.case // 10, 0)
    print(f"vigil intel Q --json: {seconds:.1f} s; {exact} exact, {near} perceptual at 6 "
          f"bits, {other} others (expected {expected}); peak RSS {rss:.0f} MiB; "
          f"load {os.getloadavg()[0]:.2f}")
    sys.exit(0 if (exact, near, other) == expected else 1)


if __name__ == "__main__":
    main()
