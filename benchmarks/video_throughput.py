"""Video hashing throughput: vigil's hash_video at 1 fps against the naive path.

The naive path decodes every frame at full resolution with PyAV's default decoder
settings, converts each to RGB, and hashes the first frame of each second at full
resolution. Both run in the same process on the same generated benign clips
(``video_corpus.benchmark_set``, cached in /tmp). Prints seconds, real-time factors,
the speed-up, and how far vigil's frame hashes are from the naive path's.

In the same run, the whole set is then processed the way a scan does it, on all cores:

* ``hash_video`` over the clips on a pool of ``--workers`` processes;
* a real ``vigil scan`` of a folder holding the clips (hard links in /tmp) with
  ``--workers N`` in a fresh ``VIGIL_HOME`` (crypto hashes, frame hashes, keyframe
  thumbnails and the case store included).

Usage: python benchmarks/video_throughput.py [--clips N] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

# One BLAS thread per process, as the CLI sets for a scan (parallelism comes from processes).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import av
import numpy as np
import pdqhash

sys.path.insert(0, str(Path(__file__).resolve().parent))

from video_corpus import benchmark_set  # noqa: E402
from vigil.hashing.video import hash_video  # noqa: E402


def reference_pdq(pixels: np.ndarray) -> str:
    """PDQ with Meta's C++ core (the ``pdqhash`` package), as the reference tool hashes."""
    bits, _quality = pdqhash.compute(np.ascontiguousarray(pixels))
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()


def naive_hash(path: Path) -> dict[int, str]:
    """Decode every frame, convert all to RGB, hash the first of each second (C++ PDQ)."""
    hashes: dict[int, str] = {}
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        start = stream.start_time or 0
        for frame in container.decode(stream):
            pixels = frame.to_ndarray(format="rgb24")
            second = int(float((frame.pts - start) * stream.time_base) + 1e-6)
            if second not in hashes:
                hashes[second] = reference_pdq(pixels)
    return hashes


def _frames(path: Path) -> int:
    return len(hash_video(path).frames)


def pool_seconds(clips: list[Path], workers: int) -> float:
    """Seconds for ``hash_video`` over every clip on a pool of ``workers`` processes."""
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_frames, clips[:workers]))  # start the workers and import PyAV first
        started = time.perf_counter()
        list(pool.map(_frames, clips))
        return time.perf_counter() - started


def scan_seconds(clips: list[Path], workers: int) -> tuple[float, dict[str, object]]:
    """Seconds for a real ``vigil scan`` of a folder of the clips; returns the summary too."""
    vigil = Path(sys.executable).with_name("vigil")
    with tempfile.TemporaryDirectory(prefix="vigil-video-scan-") as tmp:
        folder, home = Path(tmp) / "clips", Path(tmp) / "home"
        folder.mkdir()
        for clip in clips:
            os.link(clip, folder / clip.name)
        started = time.perf_counter()
        done = subprocess.run(
            [
                str(vigil),
                "scan",
                str(folder),
                "--case",
                "VIDEO",
                "--exhibit",
                "V",
                "-q",
                "--json",
                "--workers",
                str(workers),
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "VIGIL_HOME": str(home)},
        )
        seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"vigil scan failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds, json.loads(done.stdout)


def main() -> None:
    """Run both paths over the clip set and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    clips = benchmark_set()[: args.clips]
    media_seconds = 0.0
    naive_time = vigil_time = 0.0
    distances: list[int] = []
    for clip in clips:
        started = time.perf_counter()
        naive = naive_hash(clip)
        naive_time += time.perf_counter() - started
        started = time.perf_counter()
        result = hash_video(clip)
        vigil_time += time.perf_counter() - started
        media_seconds += result.duration or 0.0
        for frame in result.frames:
            reference = naive.get(int(frame.timestamp))
            # Compare only frames both paths took (vigil prefers a keyframe inside the
            # second when there is one; the naive path always takes its first frame).
            if reference is not None and frame.timestamp == int(frame.timestamp):
                distances.append((int(frame.pdq, 16) ^ int(reference, 16)).bit_count())
    print(f"clips: {len(clips)}, media: {media_seconds:.1f} s")
    print(f"naive: {naive_time:.2f} s = {media_seconds / naive_time:.1f}x real time")
    print(f"vigil: {vigil_time:.2f} s = {media_seconds / vigil_time:.1f}x real time")
    print(f"speed-up vigil/naive: {naive_time / vigil_time:.1f}x (target >= 3x)")
    pool_time = pool_seconds(clips, args.workers)
    scan_time, summary = scan_seconds(clips, args.workers)
    print(
        f"hash_video on {args.workers} processes: {pool_time:.2f} s = "
        f"{media_seconds / pool_time:.1f}x real time"
    )
    print(
        f"vigil scan --workers {args.workers}: {scan_time:.2f} s = "
        f"{media_seconds / scan_time:.1f}x real time ({summary.get('items')} items, "
        f"{summary.get('errors')} errors, media {summary.get('media')})"
    )
    best = media_seconds / scan_time
    print(
        f"real-time target >= 20x on {args.workers} cores (vigil scan): "
        f"{'met' if best >= 20 else 'MISSED'}"
    )
    mean = sum(distances) / max(1, len(distances))
    print(
        f"hash distance vigil vs naive: mean {mean:.1f}, max {max(distances, default=0)} bits"
        f" over {len(distances)} frames"
    )


if __name__ == "__main__":
    main()
