"""Scaling: the same corpus scanned with 1 and 2 local workers and on a 2-worker Dask cluster.

    .venv/bin/python benchmarks/scale.py [--pictures 4000] [--filler-mb 3072]
    .venv/bin/python benchmarks/scale.py --memory-gb 20      # peak memory on a big corpus
    .venv/bin/python benchmarks/scale.py --e01-gib 8         # one large E01 (issue 11)

The corpus (cached under /tmp/vigil-bench-scale) is benign generated photos (1080p and
smaller JPEGs, so decoding and PDQ dominate as on a real seizure) plus random filler
files and zips. Each scan is a real ``vigil scan`` process; its peak memory is the
largest sum of RSS over the scan and all its worker processes, sampled every 0.2 s.
The cluster is a ``distributed.LocalCluster`` (2 workers, 1 thread each) started here,
and its workers' memory is sampled too. Peak memory is a sum of RSS, so pages shared
between processes are counted once per process: an upper bound.

Targets (issue: a force's backlog): 2 workers >= 1.8x one worker; the LocalCluster
within 15% of the local 2-worker run; peak memory < 2 GB whatever the corpus size.

With ``--e01-gib N`` the evidence is one E01 of N GiB instead (NTFS written through
ntfs-3g, acquired by ewfacquire without compression: ``benchmarks/e01_scan.py``'s
builder, cached under /tmp/vigil-bench-e01; run as root), the same three runs (issue
11: 2 workers >= 1.8x one worker, the LocalCluster within 1.2x of 2 local workers).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

# Set before numpy loads, so the LocalCluster's worker processes (started from here, not
# from the CLI, which sets the same) also run one BLAS thread each, like the local workers.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import psutil  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import jpeg_bytes, photo  # noqa: E402

ROOT = Path("/tmp/vigil-bench-scale")


def make_corpus(folder: Path, pictures: int, filler_mb: int) -> Path:
    """Generate (once) ``pictures`` photos and ``filler_mb`` of other files."""
    marker = folder / f".complete-{pictures}-{filler_mb}"
    if marker.exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    rng = random.Random(8)
    sizes = [(1920, 1080), (1280, 960), (1024, 768), (640, 480)]
    for i in range(pictures):
        w, h = sizes[i % len(sizes)]
        path = folder / "pictures" / f"d{i % 50:02d}" / f"IMG_{i:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(jpeg_bytes(photo(i, w, h)))
    block = os.urandom(4 << 20)
    written, n = 0, 0
    while written < filler_mb << 20:
        size = rng.choice([4 << 10, 64 << 10, 1 << 20, 8 << 20])
        path = folder / "files" / f"d{n % 64:02d}" / f"f{n:06d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:
            left = size
            while left:
                f.write(block[: min(left, len(block))])
                left -= min(left, len(block))
            f.write(n.to_bytes(8, "little"))
        if n % 200 == 0:
            with zipfile.ZipFile(path.with_suffix(".zip"), "w") as zf:
                zf.writestr("inside.bin", block[:65536] + n.to_bytes(8, "little"))
        written += size
        n += 1
    marker.touch()
    return folder


def _tree_rss(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            procs = [proc, *proc.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for p in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += p.memory_info().rss
    return total


def timed_scan(
    home: Path, evidence: Path, case: str, extra: list[str], watch: list[int]
) -> tuple[float, int]:
    """Run one scan; returns (seconds, peak bytes over the scan and ``watch`` processes)."""
    env = {**os.environ, "VIGIL_HOME": str(home)}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vigil",
            "scan",
            str(evidence),
            "--case",
            case,
            "--exhibit",
            "E",
            "-q",
            *extra,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss([proc.pid, *watch]))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _out, err = proc.communicate()
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"scan failed: {err}")
    return time.perf_counter() - start, peak


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--pictures", type=int, default=4000)
    ap.add_argument("--filler-mb", type=int, default=3072)
    ap.add_argument("--memory-gb", type=int, default=0, help="only measure memory on N GB")
    ap.add_argument("--e01-gib", type=int, default=0, help="scan one E01 of N GiB instead")
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="vigil-scale-home-"))
    try:
        if args.memory_gb:
            memory_run(home, args.memory_gb)
        elif args.e01_gib:
            from e01_scan import build

            e01 = build(args.e01_gib * 1024, "none")
            size = sum(p.stat().st_size for p in e01.parent.glob(e01.stem + ".E*"))
            corpus = f"one E01 of {args.e01_gib} GiB media, {size / 1e9:.2f} GB of segments"
            # The integrity pass (one read of the whole E01 before the scan, by the scan's
            # own process) is the same in every run: measured once on its own, then left
            # out of the comparison of workers.
            seconds, peak = timed_scan(home, e01, "VERIFY", ["--workers", "2"], [])
            print(f"2 local workers with the integrity pass: {seconds:.1f} s ({_load()})")
            compare_workers(home, e01, corpus + ", --no-verify-media", ("--no-verify-media",))
        else:
            speed_run(home, args.pictures, args.filler_mb)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def memory_run(home: Path, gigabytes: int) -> None:
    """Scan a corpus of ``gigabytes`` GB with 2 local workers and print its peak memory."""
    evidence = make_corpus(ROOT / f"big-{gigabytes}", 200, gigabytes * 1024)
    files = [p for p in evidence.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    print(f"before: {_load()}")
    seconds, peak = timed_scan(home, evidence, "BIG", ["--workers", "2"], [])
    print(f"after:  {_load()}")
    print(
        f"corpus {len(files)} files, {size / 1e9:.1f} GB: {seconds:.0f} s, "
        f"{size / seconds / 1e6:.0f} MB/s, peak memory {peak / 2**20:.0f} MiB "
        f"(limit 2048 MiB, {peak / 2**31:.2f} of it)"
    )


def speed_run(home: Path, pictures: int, filler_mb: int) -> None:
    """Scan the mixed corpus with 1 and 2 local workers and a 2-worker LocalCluster."""
    evidence = make_corpus(ROOT / "mixed", pictures, filler_mb)
    paths = [p for p in evidence.rglob("*") if p.is_file()]
    files = len(paths)
    size = sum(p.stat().st_size for p in paths)
    for path in paths:  # warm the page cache so no run pays for cold reads
        path.read_bytes()
    compare_workers(home, evidence, f"{files} files ({pictures} photos), {size / 1e9:.2f} GB")


def compare_workers(home: Path, evidence: Path, corpus: str, extra: tuple[str, ...] = ()) -> None:
    """Scan ``evidence`` with 1 and 2 local workers and on a 2-worker LocalCluster."""
    print(f"before: {_load()}")
    t1, m1 = timed_scan(home, evidence, "W1", ["--workers", "1", *extra], [])
    t2, m2 = timed_scan(home, evidence, "W2", ["--workers", "2", *extra], [])
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
            # As the README's `dask worker --preload vigil.pipeline.units`: workers
            # import vigil when they start, not on their first unit.
            preload=["vigil.pipeline.units"],
        ) as cluster,
        Client(cluster) as client,
    ):
        workers = list(client.run(os.getpid).values())
        tc, mc = timed_scan(
            home, evidence, "DASK", ["--cluster", cluster.scheduler_address, *extra], workers
        )
    print(f"after:  {_load()}")
    print(f"corpus: {corpus}; 2 cores")
    print(f"1 local worker     {t1:7.1f} s   peak {m1 / 2**20:6.0f} MiB   1.00x")
    print(
        f"2 local workers    {t2:7.1f} s   peak {m2 / 2**20:6.0f} MiB   {t1 / t2:.2f}x one worker"
        " (target >= 1.8x)"
    )
    print(
        f"LocalCluster 2x1   {tc:7.1f} s   peak {mc / 2**20:6.0f} MiB   {tc / t2:.2f} of the local "
        "2-worker time (target <= 1.15)"
    )


if __name__ == "__main__":
    main()
