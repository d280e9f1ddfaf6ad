"""Deconfliction of one case against a large lab content index: `vigil intel Q --json`.

    nice -n 19 .venv/bin/python benchmarks/deconfliction.py --index 50000000 --case 1000000 \
        --build-only                       # outside the lock
    flock /tmp/vigil-bench.lock .venv/bin/python benchmarks/deconfliction.py \
        --index 50000000 --case 1000000 [--scan-folder DIR]   # timed

The lab (cached under /tmp/intel3-decon-INDEX-CASE) holds ``--index`` pictures of 100
other cases and a case ``Q`` of ``--case`` contents: a tenth of Q's contents are held by
another case as well (exact), a tenth are pictures 6 bits from another case's picture
(perceptual), the rest are new. Every PDQ is random, quality 90.

How it is written (the same code a scan uses to add to the lab index):

- The other cases' linked contents (2 x case/10 pictures, one exhibit per other case),
  then Q's exhibit, go through ``intel.index.index_rows``: lab-store rows, the search of
  the new pictures against every older one with the pairs stored as links
  (``intel.links``), then one delta PDQ file per exhibit (``pdq_files``).
- The rest of the other cases' pictures (``--index`` minus the linked ones) are PDQ
  files only: segments of ``--delta`` pictures written once (cached under
  /tmp/intel3-filler-COUNT-DELTA, ids past the lab store's) and hard-linked into the
  lab's folder last. They are not lab-store rows: at about 400 bytes a row with its
  indexes, 50M rows would be 20 GB of SQLite on a shared disk. None of them is linked
  (random hashes are not within 31 bits of each other), and they are added after Q so
  that building the lab does not pay the search of Q against them: that cost, the one
  the scan now carries, is measured per content by ``--scan-folder``.

The timed part runs `vigil intel Q --json --user bench` as its own process (wall time
and peak RSS from ``wait4``), with everything already linked, and checks that the
listing has exactly the planted links. ``--scan-folder DIR`` then runs `vigil scan DIR`
twice as whole processes, into an empty lab and into a copy of the big lab (its segment
files hard-linked), and prints the lab-index step's times from the scan's JSON.

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
from dataclasses import replace
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
    started = time.perf_counter()
    shared = case // 10
    linked_codes = rng.integers(0, 256, (2 * shared, 32), dtype=np.uint8)
    linked_shas = rng.integers(0, 256, (2 * shared, 32), dtype=np.uint8)
    linked = [_row(linked_shas[i].tobytes(), linked_codes[i]) for i in range(2 * shared)]
    for other in range(OTHER_CASES):
        rows = linked[other :: OTHER_CASES]
        index_rows(lab, f"OTHER-{other}", "E", rows)
    print(f"indexed {OTHER_CASES} other exhibits ({2 * shared:,} contents) in "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    fresh = case - 2 * shared
    fresh_codes = rng.integers(0, 256, (fresh, 32), dtype=np.uint8)
    fresh_shas = rng.integers(0, 256, (shared + fresh, 32), dtype=np.uint8)
    mine = linked[:shared]  # exact: the same contents
    mine += [_row(fresh_shas[i].tobytes(), _near(linked_codes[shared + i]))
             for i in range(shared)]
    mine += [_row(fresh_shas[shared + i].tobytes(), fresh_codes[i]) for i in range(fresh)]
    del fresh_codes, fresh_shas
    started = time.perf_counter()
    result = index_rows(lab, "Q", "E", mine)
    print(f"indexed Q ({case:,} contents, the scan's path) in "
          f"{time.perf_counter() - started:.1f} s: {result}", flush=True)
    del mine, linked
    add_user(lab, "bench", "examiner", PASSWORD)
    for name in ["Q", *(f"OTHER-{k}" for k in range(OTHER_CASES))]:
        assign(lab, "bench", name, "benchmark")
    files = PdqFiles(lab_folder(lab))  # type: ignore[arg-type]
    rest = index - 2 * shared
    made = filler(rest, delta)
    with files.locked() as manifest:
        segments = list(manifest.segments)
        for path, count in made:
            os.link(path, files.folder / path.name)
            segments.append((path.name, count))
        # Segments written elsewhere, adopted as they are: coverage of the lab store
        # is unchanged (their ids are past it).
        files._save(replace(manifest, segments=tuple(segments)))
    lab.dispose()


def filler(count: int, delta: int) -> list[tuple[Path, int]]:
    """The file-only pictures as PdqIndex segments of ``delta`` (written once, cached)."""
    from vigil.matching.pdq_index import PdqIndex

    where = Path(f"/tmp/intel3-filler-{count}-{delta}")
    where.mkdir(parents=True, exist_ok=True)
    made = []
    for number, start in enumerate(range(0, count, delta)):
        n = min(delta, count - start)
        path = where / f"filler-{number:03d}.idx"
        if not path.exists():
            rng = np.random.default_rng([18, number])
            started = time.perf_counter()
            ids = np.arange(SYNTHETIC_FIRST_ID + start, SYNTHETIC_FIRST_ID + start + n,
                            dtype=np.int64)
            PdqIndex.write(path, ids, rng.integers(0, 256, (n, 32), dtype=np.uint8))
            print(f"{path.name}: {n:,} pictures in {time.perf_counter() - started:.1f} s",
                  flush=True)
        made.append((path, n))
    return made


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
    ap.add_argument("--scan-folder", type=Path,
                    help="also scan this folder into an empty lab and into a copy of this one")
    ap.add_argument("--skip-intel", action="store_true", help="only the --scan-folder part")
    args = ap.parse_args()
    folder = Path(f"/tmp/intel3-decon-{args.index}-{args.case}")
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
    ok = True
    if not args.skip_intel:
        ok = time_intel(folder, args.index, args.case)
    if args.scan_folder:
        time_scans(folder, args.scan_folder)
    sys.exit(0 if ok else 1)


def time_intel(folder: Path, index: int, case: int) -> bool:
    """Time `vigil intel Q --json`; True when it lists exactly the planted links."""
    home = Path(tempfile.mkdtemp(prefix="intel3-decon-home-"))
    print(f"index {index:,}, case {case:,}, load {os.getloadavg()[0]:.2f}", flush=True)
    seconds, rss, view = run_intel(folder, home)
    shutil.rmtree(home, ignore_errors=True)
    exact = sum(1 for r in view["shared"] for k in r["links"] if k["basis"] == "exact")
    near = sum(1 for r in view["shared"] for k in r["links"]
               if k["basis"] == "perceptual" and k["distance"] == 6)
    other = sum(len(r["links"]) for r in view["shared"]) - exact - near
    expected = (case // 10, case // 10, 0)
    print(f"vigil intel Q --json: {seconds:.1f} s; {exact} exact, {near} perceptual at 6 "
          f"bits, {other} others (expected {expected}); peak RSS {rss:.0f} MiB; "
          f"load {os.getloadavg()[0]:.2f}", flush=True)
    return (exact, near, other) == expected


def run_scan(home: Path, evidence: Path, lab_url: str | None) -> tuple[float, float, dict]:
    """`vigil scan` as a process: (seconds, peak RSS MiB of its largest process, JSON)."""
    env = {**os.environ, "VIGIL_HOME": str(home), "PYTHONPATH": str(SRC)}
    command = [sys.executable, "-m", "vigil", "scan", str(evidence), "--case", "S",
               "--exhibit", "E", "-q", "--json", "--workers", "2"]
    if lab_url:
        command += ["--lab-db", lab_url]
    with tempfile.TemporaryFile() as output:
        start = time.perf_counter()
        proc = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        output.seek(0)
        text = output.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"vigil scan failed: {text}")
    # wait4's maxrss: the largest of the scan process and the workers it waited for.
    return seconds, usage.ru_maxrss / 1024, json.loads(text[text.index("{"):])


def time_scans(folder: Path, evidence: Path) -> None:
    """The lab-index step of a real scan: into an empty lab, then into a copy of the big one."""
    copy = Path(tempfile.mkdtemp(prefix="intel3-decon-copy-", dir="/tmp"))
    try:
        shutil.copy2(folder / "lab.sqlite", copy / "lab.sqlite")
        (copy / "lab.sqlite.intel").mkdir()
        for path in (folder / "lab.sqlite.intel").iterdir():
            if path.suffix == ".idx":
                os.link(path, copy / "lab.sqlite.intel" / path.name)  # never rewritten
            else:
                shutil.copy2(path, copy / "lab.sqlite.intel" / path.name)
        for name, lab_url in (("empty lab", None),
                              ("big lab", f"sqlite:///{copy / 'lab.sqlite'}")):
            home = copy / f"home-{name.split()[0]}"
            home.mkdir()
            load = os.getloadavg()[0]
            seconds, rss, summary = run_scan(home, evidence, lab_url)
            step = summary["lab_index"]
            per = 1000 * step["link_seconds"] / max(step["checked"], 1)
            print(f"vigil scan into the {name}: {seconds:.1f} s, peak RSS {rss:.0f} MiB, "
                  f"{summary['items']} items; lab-index step {step['seconds']:.2f} s, of "
                  f"which the search {step['link_seconds']:.2f} s for {step['checked']} "
                  f"pictures ({per:.2f} ms each), {step['links']} links; load {load:.2f} / "
                  f"{os.getloadavg()[0]:.2f}", flush=True)
    finally:
        shutil.rmtree(copy, ignore_errors=True)

if __name__ == "__main__":
    main()
