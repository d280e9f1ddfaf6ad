"""Benchmark vigil's fast PDQ against the python-threatexchange pipeline, same run.

The pytx pipeline (``pdq_from_bytes``) is written out here because pytx is not
installed: Pillow decodes the file at full resolution, ``convert("RGB")``, numpy array,
``pdqhash.compute`` (Meta's C++ core). vigil's fast mode decodes JPEGs at 1/2..1/8
scale straight to luma and hashes with the numpy core. Both run on the same generated
benign photo-like JPEGs (``corpus.py``), one thread.

It also splits vigil's time into decoding and hashing, and measures the drift of fast
mode from the reference on a corpus of mixed sizes.

    python benchmarks/pdq.py                 # speed, 4 size classes
    python benchmarks/pdq.py --drift 1000    # plus drift on 1,000 mixed-size pictures
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

# One thread per process, as in a scan: a multi-threaded BLAS only adds contention on
# 64 x N products (0.6 ms single-threaded, 5-15 ms with 2 threads on a busy machine).
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402
import pdqhash  # noqa: E402
from PIL import Image  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus  # noqa: E402
from vigil.hashing import pdq, pdq_core  # noqa: E402
from vigil.hashing.decode import decode  # noqa: E402

COUNTS = {"12MP": 6, "1080p": 20, "1024x768": 30, "640x480": 40}


def pytx_pdq_from_bytes(data: bytes) -> tuple[str, int]:
    """python-threatexchange's photo pipeline: full-resolution RGB into pdqhash."""
    image = Image.open(io.BytesIO(data))
    if image.mode != "RGB":
        image = image.convert("RGB")
    bits, quality = pdqhash.compute(np.asarray(image))
    return np.packbits(bits).tobytes().hex(), int(quality)


def best_of(function: Callable[[], object], repeat: int = 3) -> float:
    """Fastest of ``repeat`` runs, in seconds (less noise on a shared machine)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def speed() -> None:
    """Per size class: pytx vs vigil fast (hash only and with variants), decode vs hash."""
    header = (
        f"{'size':>9} {'n':>3} {'pytx ms':>8} {'fast ms':>8} {'ratio':>6}"
        f" {'+variants':>9} {'decode':>7} {'hash':>6} {'hash/dec':>8} {'max d':>5}"
    )
    print(header)
    for label, count in COUNTS.items():
        width, height = corpus.SIZES[label]
        files = [
            corpus.jpeg_bytes(corpus.photo(900 + seed, width, height)) for seed in range(count)
        ]
        pytx = fast = full = decoding = hashing = 0.0
        worst = 0
        for data in files:
            pytx += best_of(lambda d=data: pytx_pdq_from_bytes(d))
            fast += best_of(lambda d=data: pdq.pdq_for_file(d, variants=False))
            full += best_of(lambda d=data: pdq.pdq_for_file(d))
            decoded = decode(data, min_side=pdq.FAST_MIN_SIDE)
            decoding += best_of(lambda d=data: decode(d, min_side=pdq.FAST_MIN_SIDE))
            hashing += best_of(
                lambda g=decoded: pdq_core.block_to_hex(pdq_core.hash_grey(g.pixels, g.scale)[0])
            )
            reference = pytx_pdq_from_bytes(data)[0]
            worst = max(worst, pdq.hamming(reference, pdq.pdq_for_file(data).hash))
        ms = 1000 / count
        print(
            f"{label:>9} {count:>3} {pytx * ms:>8.1f} {fast * ms:>8.1f} {pytx / fast:>5.1f}x"
            f" {full * ms:>9.1f} {decoding * ms:>7.1f} {hashing * ms:>6.2f}"
            f" {hashing / decoding:>7.1%} {worst:>5}"
        )


def drift(count: int) -> None:
    """Distance between fast and reference mode on ``count`` mixed-size JPEGs."""
    distances = []
    qualities = []
    start = time.perf_counter()
    for seed, (width, height) in enumerate(corpus.mixed_sizes(count, seed=42)):
        data = corpus.jpeg_bytes(corpus.photo(seed, width, height), quality=80 + seed % 16)
        reference = pdq.pdq_for_file(data, "reference", variants=False)
        fast = pdq.pdq_for_file(data, "fast", variants=False)
        distances.append(pdq.hamming(reference.hash, fast.hash))
        qualities.append(reference.quality)
    values = np.array(distances)
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    print(
        f"drift on {count} pictures (160..1600 px, JPEG q80..95, reference quality"
        f" {min(qualities)}..{max(qualities)}), {time.perf_counter() - start:.0f} s:"
    )
    print(
        f"  max {values.max()}  mean {values.mean():.2f}  p50 {p50:.0f}  p90 {p90:.0f}"
        f"  p99 {p99:.0f}  over 10: {(values > 10).sum()}"
    )
    kinds, counts = np.unique(values, return_counts=True)
    print("  histogram:", {int(k): int(c) for k, c in zip(kinds, counts, strict=True)})


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drift", type=int, default=0, help="pictures for the drift check")
    parser.add_argument("--no-speed", action="store_true")
    args = parser.parse_args()
    if not args.no_speed:
        speed()
    if args.drift:
        drift(args.drift)


if __name__ == "__main__":
    main()
