"""A scan against a national-size PDQ bank vs the same scan with no bank (2 workers).

    nice -n 10 python benchmarks/bank_scan.py [--bank 10000000] [--pictures 2100]
        [--corpus small|phone]

Inputs are generated once and cached under /tmp/bank-*: a corpus of benign generated
photos (``corpus.photo``; ``small``: 1080p and smaller JPEGs, 0.37 GB for 2,100;
``phone``: a quarter of them 12 MP camera-sized, 1.2 GB for 2,100, about the size of
issue 13's own corpus of 2,100 photos, 1.3 GB) and a PDQ list of ``--bank`` random
hashes plus near-duplicates (4..24 bits away) of ``--planted`` corpus pictures. The
list is imported by a real ``vigil hashset import`` process (time and peak RSS), then
the corpus is scanned by real ``vigil scan --workers 2`` processes: with the bank (the
first scan of the corpus after import, then again) and with an empty library (first,
then again). Each home first gets an untimed scan of 20 other pictures (a home's very
first scan creates its library, lab store and case machinery), so that each ratio
compares scans that differ only by the bank; the first scan of the corpus also adds its
pictures to the home's lab index, the second finds them there. Memory is sampled every
0.25 s over the scan's process tree: the largest single process's RSS and PSS (PSS
divides pages shared between processes, e.g. the mapped index, among them), and the
sum of RSS over the tree.

Targets (issue 13): time with bank / without <= 1.3; largest process < 1 GB; the first
scan after import no slower than later ones; every planted near-duplicate found.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import jpeg_bytes, photo  # noqa: E402
from vigil.hashing.pdq import pdq_for_file  # noqa: E402

# The corpora, by picture size: "small" (1080p and smaller: 0.37 GB for 2,100 pictures)
# and "phone" (a quarter of them 12 MP camera photos, the rest 1080p and smaller: 1.3 GB
# for 2,100, the size of issue 13's own corpus of 2,100 photos).
_SIZES = {
    "small": [(1920, 1080), (1280, 960), (1024, 768), (640, 480)],
    "phone": [(4000, 3000), (1920, 1080), (1024, 768), (640, 480)],
}
_FOLDERS = {"small": Path("/tmp/bank-corpus"), "phone": Path("/tmp/bank-corpus-phone")}
_HEX = np.array([f"{i:02x}".encode() for i in range(256)]).view(np.uint16)


@dataclass
class Peak:
    """Largest memory seen while a command ran (bytes)."""

    seconds: float = 0.0
    cpu: float = 0.0
    rss: int = 0
    pss: int = 0
    tree: int = 0


def make_corpus(folder: Path, pictures: int, sizes: list[tuple[int, int]]) -> Path:
    """Generate (once) ``pictures`` benign photos in ``folder`` (only the missing ones),
    their sizes taken in turn from ``sizes``."""
    for i in range(pictures):
        w, h = sizes[i % len(sizes)]
        path = folder / f"d{i % 40:02d}" / f"IMG_{i:05d}.jpg"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.with_suffix(".part").write_bytes(jpeg_bytes(photo(10_000 + i, w, h)))
            path.with_suffix(".part").rename(path)
    for extra in folder.rglob("IMG_*.jpg"):
        if int(extra.stem.removeprefix("IMG_")) >= pictures:
            extra.unlink()
    return folder


def make_warm_up(folder: Path, pictures: int = 20) -> Path:
    """Generate (once) a few benign photos unlike the corpus's, scanned untimed into each
    home first, so that both homes hold a library, a lab store and a case before the
    timed scans (a home's very first scan creates them)."""
    for i in range(pictures):
        path = folder / f"WARM_{i:03d}.jpg"
        if not path.exists():
            folder.mkdir(parents=True, exist_ok=True)
            path.write_bytes(jpeg_bytes(photo(90_000 + i, 640, 480)))
    return folder


def make_bank(path: Path, size: int, corpus: Path, planted: int) -> list[str]:
    """Write (once) a PDQ list of ``size`` random hashes and ``planted`` near-duplicates
    of corpus pictures; return the planted pictures' paths."""
    every = sorted(corpus.rglob("*.jpg"))
    pictures = every[:: max(1, len(every) // planted)]
    chosen = [str(p.relative_to(corpus)) for p in pictures[:planted]]
    if path.exists():
        return chosen
    rng = np.random.default_rng(13)
    near = []
    for number, picture in enumerate(pictures[:planted]):
        bits = np.unpackbits(np.frombuffer(bytes.fromhex(pdq_for_file(picture).hash), np.uint8))
        bits[rng.choice(256, 4 + number % 21, replace=False)] ^= 1
        near.append(np.packbits(bits).tobytes().hex().encode() + b"\n")
    temporary = path.with_suffix(".part")
    with temporary.open("wb") as handle:
        handle.writelines(near)
        for start in range(0, size, 1_000_000):
            count = min(1_000_000, size - start)
            codes = rng.integers(0, 256, (count, 32), dtype=np.uint8)
            text = _HEX[codes].view(np.uint8).reshape(count, 64)
            handle.write(np.hstack([text, np.full((count, 1), 10, np.uint8)]).tobytes())
    temporary.rename(path)
    return chosen


def _sample(pid: int, peak: Peak) -> None:
    tree = 0
    with contextlib.suppress(psutil.NoSuchProcess):
        root = psutil.Process(pid)
        for proc in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                info = proc.memory_full_info()
                tree += info.rss
                peak.rss = max(peak.rss, info.rss)
                peak.pss = max(peak.pss, info.pss)
    peak.tree = max(peak.tree, tree)


def run(args: list[str], home: Path) -> Peak:
    """Run ``vigil ARGS`` with ``VIGIL_HOME=home``; its time and memory peaks."""
    env = {**os.environ, "VIGIL_HOME": str(home)}
    peak = Peak()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "vigil", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            _sample(proc.pid, peak)
            time.sleep(0.25)

    sampler = threading.Thread(target=watch, daemon=True)
    sampler.start()
    _out, err = proc.communicate()
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"vigil {' '.join(args)} failed: {err}")
    peak.seconds = time.perf_counter() - start
    # CPU of the process and of every worker it waited for: steadier than wall time when
    # other jobs share the machine.
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak.cpu = sum(getattr(after, f) - getattr(before, f) for f in ("ru_utime", "ru_stime"))
    return peak


def perceptual_matches(home: Path, case: str, out: Path) -> set[str]:
    """Paths of the items of ``case`` that matched perceptually."""
    run(["report", case, "--format", "json", "--out", str(out)], home)
    report = json.loads((out / "report.json").read_text())
    items = report["items"]
    return {i["path"] for i in items if i["match"] and i["match"]["basis"] == "perceptual"}


def _mib(value: int) -> str:
    return f"{value / 2**20:,.0f} MiB"


def _load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    """Build the inputs, import the bank, run the scans, print the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bank", type=int, default=10_000_000)
    parser.add_argument("--pictures", type=int, default=2100)
    parser.add_argument("--planted", type=int, default=20)
    parser.add_argument(
        "--reuse-home", type=Path, help="a VIGIL_HOME where this bank list is already imported"
    )
    parser.add_argument("--keep-home", type=Path, help="keep the imported home here")
    parser.add_argument(
        "--corpus", choices=sorted(_SIZES), default="small", help="picture sizes (see _SIZES)"
    )
    args = parser.parse_args()
    corpus = make_corpus(_FOLDERS[args.corpus], args.pictures, _SIZES[args.corpus])
    kind = "" if args.corpus == "small" else f"-{args.corpus}"
    bank_file = Path(f"/tmp/bank-list-{args.bank}-{args.pictures}{kind}.pdq")
    planted = make_bank(bank_file, args.bank, corpus, args.planted)
    size = sum(p.stat().st_size for p in corpus.rglob("*.jpg"))
    for path in corpus.rglob("*.jpg"):  # warm the page cache: no run pays for cold reads
        path.read_bytes()
    work = Path(f"/tmp/bank-run-{os.getpid()}")
    with_bank, empty = work / "home-bank", work / "home-empty"
    if args.reuse_home:
        with_bank = args.reuse_home
    try:
        print(f"before: {_load()}")
        if not args.reuse_home:
            imported = run(
                ["hashset", "import", str(bank_file), "--name", "national", "--format", "pdq",
                 "--grade", "C", "--scheme", "uk"],
                with_bank,
            )  # fmt: skip
            print(
                f"import of {args.bank + args.planted:,} PDQ lines: {imported.seconds:.1f} s,"
                f" peak RSS {_mib(imported.rss)} ({_load()})"
            )
        index = with_bank / "index"
        print(f"  index file: {_mib(sum(p.stat().st_size for p in index.iterdir()))}")
        scan = ["--workers", "2", "-q"]
        warm = make_warm_up(Path("/tmp/bank-warmup"))
        for home in (with_bank, empty):
            run(["scan", str(warm), "--case", "WARM", "--exhibit", f"W{os.getpid()}", *scan],
                home)
        runs = {}
        for label, home, case in [
            ("with bank, first scan of the corpus", with_bank, "FIRST"),
            ("no bank", empty, "NONE"),
            ("with bank, again", with_bank, "AGAIN"),
            ("no bank, again", empty, "NONE2"),
        ]:
            exhibit = f"E{os.getpid()}"  # new each run: a reused home keeps its cases
            command = ["scan", str(corpus), "--case", case, "--exhibit", exhibit, *scan]
            runs[case] = run(command, home)
            peak = runs[case]
            print(
                f"scan {label}: {peak.seconds:.1f} s ({size / peak.seconds / 1e6:.0f} MB/s),"
                f" {peak.cpu:.1f} CPU-s;"
                f" largest process RSS {_mib(peak.rss)}, PSS {_mib(peak.pss)};"
                f" tree RSS sum {_mib(peak.tree)} ({_load()})"
            )
        found = perceptual_matches(with_bank, "FIRST", work / "report")
        print(f"planted near-duplicates found: {len(found & set(planted))}/{len(planted)}"
              f" ({len(found)} perceptual matches in all)")  # fmt: skip
        # Pairs that differ only by the bank: both homes have had the warm-up scan; the
        # first timed scan adds the corpus's pictures to the home's lab index (new
        # contents, their link search), the second finds them there.
        for first, bank, none in (("first", "FIRST", "NONE"), ("again", "AGAIN", "NONE2")):
            print(
                f"{args.pictures:,} pictures ({size / 1e9:.2f} GB), {first} scan of each home:"
                f" time with bank / without = {runs[bank].seconds / runs[none].seconds:.2f}"
                f" wall, {runs[bank].cpu / runs[none].cpu:.2f} CPU (target <= 1.3)"
            )
        print(
            f"first scan / later: with the bank {runs['FIRST'].seconds / runs['AGAIN'].seconds:.2f}"
            f" wall, {runs['FIRST'].cpu / runs['AGAIN'].cpu:.2f} CPU; without a bank"
            f" {runs['NONE'].seconds / runs['NONE2'].seconds:.2f} wall,"
            f" {runs['NONE'].cpu / runs['NONE2'].cpu:.2f} CPU"
        )
    finally:
        if args.keep_home and not args.reuse_home and with_bank.exists():
            shutil.move(with_bank, args.keep_home)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
