"""Crypto hashing throughput: vigil's hashing stage against hashdeep on the same corpus.

    .venv/bin/python benchmarks/crypto_throughput.py [--size-mb 1024] [--corpus DIR]

Generates (once, cached) a corpus of mixed file sizes from random bytes, reads it
once so both tools start from a warm page cache, then times in the same run:

* ``hashdeep -c md5,sha1 -r CORPUS`` (its default thread count: one per core);
* vigil's hashing stage: ``digest_stream`` (MD5 + SHA-1 + SHA-256 in one read)
  over every file on a thread pool of one thread per core, as ``vigil scan`` runs it;
* the same with only MD5 + SHA-1, like for like with hashdeep.

Each is run three times; the best run counts. Prints MB/s and the ratio to hashdeep.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from vigil.hashing.crypto import CHUNK, digest_stream


def make_corpus(root: Path, size_mb: int) -> list[Path]:
    """Mixed sizes: many small files, some medium, a few large (seeded)."""
    marker = root / f".complete-{size_mb}"
    if not marker.exists():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        rng = random.Random(1)
        budget = size_mb << 20
        block = os.urandom(8 << 20)
        i = 0
        while budget > 0:
            r = rng.random()
            size = (
                rng.randint(1 << 10, 256 << 10)
                if r < 0.7
                else rng.randint(1 << 20, 8 << 20)
                if r < 0.97
                else rng.randint(32 << 20, 64 << 20)
            )
            size = min(size, budget)
            path = root / f"d{i % 20}" / f"f{i:06d}.bin"
            path.parent.mkdir(exist_ok=True)
            with path.open("wb") as f:
                left = size
                off = rng.randrange(0, len(block) - 1)
                while left:
                    n = min(left, len(block) - off)
                    f.write(block[off : off + n])
                    left -= n
                    off = 0
                f.write(i.to_bytes(8, "little"))
            budget -= size
            i += 1
        marker.touch()
    return sorted(p for p in root.rglob("*.bin"))


def vigil_stage(files: list[Path], workers: int) -> None:
    def one(p: Path) -> str:
        with open(p, "rb", buffering=0) as f:
            return digest_stream(f).sha256

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, files))


def md5_sha1_only(files: list[Path], workers: int) -> None:
    def one(p: Path) -> str:
        md5, sha1 = hashlib.md5(), hashlib.sha1()
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        with open(p, "rb", buffering=0) as f:
            while n := f.readinto(buf):
                md5.update(view[:n])
                sha1.update(view[:n])
        return md5.hexdigest()

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, files))


def best_of(n: int, fn) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--corpus", type=Path, default=Path("/tmp/vigil-bench-crypto"))
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    if not shutil.which("hashdeep"):
        sys.exit("hashdeep is not installed (Debian package hashdeep; `make bench` installs it)")
    files = make_corpus(args.corpus, args.size_mb)
    total = sum(p.stat().st_size for p in files)
    workers = os.cpu_count() or 2
    md5_sha1_only(files, workers)  # warm the page cache
    hd = best_of(
        args.runs,
        lambda: subprocess.run(
            ["hashdeep", "-c", "md5,sha1", "-r", str(args.corpus)],
            check=True,
            stdout=subprocess.DEVNULL,
        ),
    )
    vg = best_of(args.runs, lambda: vigil_stage(files, workers))
    v2 = best_of(args.runs, lambda: md5_sha1_only(files, workers))
    mb = total / 1e6
    print(f"corpus: {len(files)} files, {mb:,.0f} MB, {workers} cores")
    print(f"hashdeep -c md5,sha1 -r            {mb / hd:8.0f} MB/s  (1.00x)")
    print(f"vigil stage md5+sha1+sha256        {mb / vg:8.0f} MB/s  ({hd / vg:.2f}x hashdeep)")
    print(f"vigil threads md5+sha1 only        {mb / v2:8.0f} MB/s  ({hd / v2:.2f}x hashdeep)")


if __name__ == "__main__":
    main()
