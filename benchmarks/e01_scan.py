"""Benchmark: read and hash every file of an E01 through iter_image vs ``ewfverify``.

Builds (once, cached in /tmp) a ~1 GiB NTFS file system of benign generated files
(pseudo-random blobs and Pillow-drawn pictures, mixed sizes), acquires it as an E01 with
``ewfacquire`` (Debian ``ewf-tools``; deflate "fast"), then times, in the same run:

* ``ewfverify -q -d sha1`` on the image (reads and decompresses every chunk, MD5+SHA-1);
* the real command ``vigil scan IMAGE.E01 --case ... --exhibit ... -q --workers N`` in a
  fresh ``VIGIL_HOME`` under /tmp (no hash sets), once per ``--executor`` (processes,
  threads): the issue's target is about scanning the E01, so this is the headline;
* ``iter_image`` yielding every file, each read in 1 MiB chunks and hashed with MD5 and
  SHA-1 by a pool of worker threads (the breakdown: source + crypto hashing only);
* ``ewfverify`` once more at the end, so the peer's time is the mean of a run before and
  a run after vigil's (the machine is shared; its load drifts).

Run as root (the corpus is written through an ntfs-3g FUSE mount):

    .venv/bin/python benchmarks/e01_scan.py [--size-mib 1024] [--workers 2]

It prints every time and its ratio to ewfverify (target: scan within 1.3x of ewfverify).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

CORPUS = Path("/tmp/vigil-bench-e01")
CHUNK = 1 << 20


def build(size_mib: int, compression: str = "deflate:fast") -> Path:
    """Build the NTFS raw image and its E01 (cached by size); return the .E01 path.

    ``compression`` is ewfacquire's ``-c``: ``none`` for large images of mostly random
    data (incompressible: EWF keeps such chunks stored either way, and ewfacquire's
    deflate attempt on each one costs far more than writing it).
    """
    CORPUS.mkdir(parents=True, exist_ok=True)
    label = "" if compression == "deflate:fast" else f"-{compression.replace(':', '-')}"
    target = CORPUS / f"ntfs-{size_mib}m{label}"
    e01 = target.with_suffix(".E01")
    if e01.exists():
        return e01
    raw = CORPUS / f"ntfs-{size_mib}m.raw"
    if raw.exists() and raw.with_suffix(".written").exists():
        return _acquire(raw, target, compression)
    with raw.open("wb") as f:
        f.truncate((size_mib + size_mib // 8 + 64) * 1024 * 1024)
    subprocess.run(
        ["mkntfs", "-F", "-q", "-Q", "-c", "4096", str(raw)], check=True, capture_output=True
    )
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "sources"))
    from build_dftt8 import picture

    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        mount = Path(tmp)
        subprocess.run(["ntfs-3g", str(raw), str(mount)], check=True)
        try:
            written, n = 0, 0
            while written < size_mib * 1024 * 1024:
                folder = mount / f"dir{n % 20:02d}"
                folder.mkdir(exist_ok=True)
                if n % 4 == 0:
                    data = picture(n, size=(rng.randrange(200, 900), rng.randrange(200, 700)))
                    name = f"img{n:05d}.jpg"
                else:
                    data = rng.randbytes(rng.choice((64 * 1024, 512 * 1024, 4 << 20, 16 << 20)))
                    name = f"blob{n:05d}.bin"
                (folder / name).write_bytes(data)
                written += len(data)
                n += 1
        finally:
            subprocess.run(["umount", str(mount)], check=True)
    raw.with_suffix(".written").touch()
    return _acquire(raw, target, compression)


def _acquire(raw: Path, target: Path, compression: str) -> Path:
    """ewfacquire ``raw`` into ``target``.E01 (4 GiB segments), then delete ``raw``."""
    subprocess.run(
        [
            "ewfacquire",
            "-u",
            "-q",
            "-t",
            str(target),
            "-c",
            compression,
            "-f",
            "encase6",
            "-S",
            "4GiB",
            "-C",
            "bench",
            "-e",
            "vigil",
            "-E",
            "bench",
            "-D",
            "benchmark",
            "-N",
            "generated",
            str(raw),
        ],
        check=True,
        capture_output=True,
    )
    raw.unlink()
    raw.with_suffix(".written").unlink()
    return target.with_suffix(".E01")


def _hash(item: object) -> int:
    md5, sha1, n = hashlib.md5(), hashlib.sha1(), 0
    with item.open() as stream:  # type: ignore[attr-defined]
        while chunk := stream.read(CHUNK):
            md5.update(chunk)
            sha1.update(chunk)
            n += len(chunk)
    return n


def time_vigil(e01: Path, workers: int) -> tuple[float, int, int]:
    from vigil.model import Item
    from vigil.sources.image import iter_image

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(_hash, r) for r in iter_image(e01) if isinstance(r, Item)]
        total = sum(f.result() for f in futures)
    return time.perf_counter() - start, len(futures), total


def time_scan(e01: Path, workers: int, executor: str) -> tuple[float, dict[str, object]]:
    """Time ``vigil scan`` of the image in a fresh VIGIL_HOME; returns (seconds, summary)."""
    vigil = Path(sys.executable).with_name("vigil")
    with tempfile.TemporaryDirectory(prefix="vigil-e01-home-") as home:
        command = [
            str(vigil),
            "scan",
            str(e01),
            "--case",
            "BENCH",
            "--exhibit",
            "E01",
            "-q",
            "--json",
            "--workers",
            str(workers),
            "--executor",
            executor,
        ]
        start = time.perf_counter()
        done = subprocess.run(
            command, capture_output=True, text=True, env={**os.environ, "VIGIL_HOME": home}
        )
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"vigil scan failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds, json.loads(done.stdout)


def time_ewfverify(e01: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["ewfverify", "-q", "-d", "sha1", str(e01)], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    for tool in ("mkntfs", "ntfs-3g", "ewfacquire", "ewfverify"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} not found (Debian: ntfs-3g, ewf-tools)")
    e01 = build(args.size_mib)
    print(f"image: {e01} ({e01.stat().st_size / 2**20:.0f} MiB on disk)")
    time_ewfverify(e01)  # warm the page cache for both tools
    before = time_ewfverify(e01)
    scans = {
        executor: time_scan(e01, args.workers, executor) for executor in ("processes", "threads")
    }
    vigil, files, total = time_vigil(e01, args.workers)
    after = time_ewfverify(e01)
    verify = (before + after) / 2
    print(
        f"ewfverify -d sha1:            {verify:7.2f} s  (before {before:.2f} s, "
        f"after {after:.2f} s)"
    )
    for executor, (seconds, summary) in scans.items():
        print(
            f"vigil scan {args.workers}w {executor:9}:  {seconds:7.2f} s  "
            f"ratio {seconds / verify:5.2f} (target <= 1.30)  {summary.get('items')} items, "
            f"{summary.get('errors')} errors, media {summary.get('media')}"
        )
    print(
        f"iter_image + md5/sha1 ({args.workers}w): {vigil:7.2f} s  ratio {vigil / verify:5.2f}  "
        f"({files} files, {total / 2**20:.0f} MiB of file data, "
        f"{total / 2**20 / vigil:.0f} MiB/s)"
    )


if __name__ == "__main__":
    main()
