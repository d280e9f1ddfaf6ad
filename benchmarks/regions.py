"""The lab bank's region index at the size of a lab's bank: query time and false matches.

A bank of ``--bank`` pictures (default 100,000): the first ``--known`` are photo-set
pictures (``recall.picture``), the rest quick generated scenes (a gradient, smooth
texture and 12-30 drawn shapes, each picture from its own seed; cheap enough to make
100,000). Each picture's region signature goes into a ``RegionIndex``, saved to and
mapped back from ``/tmp/robust3-regions-N-K-xR`` (cached between runs: ``--fresh``
rebuilds); the signatures are cached in ``/tmp/robust3-signatures-*.npz`` by 10,000.

Queries: crops 5, 10 and 20%, 3- and 5-degree turns and a letterboxed copy of each known
picture (must be found), and ``--unbanked`` photo-set pictures that are in no bank (must
find nothing); the times are per query, after decode, through ``RegionIndex.query``;
then a generated 1080p JPEG's decode against a region query on its pixels.

    python benchmarks/regions.py [--bank 100000] [--known 50] [--unbanked 200]
    python benchmarks/regions.py --bank 10000 --repeat 10   # 100,000 entries, for time
    python benchmarks/regions.py --bank 100000 --fold 100   # fold 100 review grades in

With ``--repeat R`` every signature goes in R times under different entry ids: a bank of
R times the size whose buckets are R times as full (what query time depends on), made
from the pictures' signatures already cached; a match of any copy of a known picture's
signature counts as found, of any other picture's as false.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus  # noqa: E402
import edits  # noqa: E402
import recall  # noqa: E402
from vigil.hashing.regions import RegionSignature, region_signature  # noqa: E402
from vigil.matching.region_index import RegionIndex  # noqa: E402

QUERY_EDITS = ("crop5", "crop10", "crop20", "rotate3", "rotate5", "letterbox")


def scene(seed: int, width: int = 480, height: int = 360) -> np.ndarray:
    """A quick generated scene (RGB uint8): gradient, smooth texture and drawn shapes."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    top, bottom = rng.uniform(30, 220, 3), rng.uniform(30, 220, 3)
    canvas = np.broadcast_to(top + (bottom - top) * y, (height, width, 3)).astype(np.float32)
    texture = rng.normal(0, 18, (height // 16, width // 16, 3)).astype(np.float32)
    canvas = canvas + cv2.resize(texture, (width, height), interpolation=cv2.INTER_CUBIC)
    picture = np.clip(canvas, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(12, 31))):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        x, yy = int(rng.integers(0, width)), int(rng.integers(0, height))
        size = int(rng.integers(8, max(9, width // 4)))
        kind = int(rng.integers(0, 4))
        if kind == 0:
            cv2.circle(picture, (x, yy), size, colour, -1, cv2.LINE_AA)
        elif kind == 1:
            cv2.rectangle(picture, (x, yy), (x + size, yy + size // 2), colour, -1)
        elif kind == 2:
            corners = rng.integers(-size, size, (5, 2)) + np.array([x, yy])
            cv2.fillPoly(picture, [corners.astype(np.int32)], colour, cv2.LINE_AA)
        else:
            end = (x + int(rng.integers(-size, size)), yy + int(rng.integers(-size, size)))
            cv2.line(picture, (x, yy), end, colour, int(rng.integers(1, 6)), cv2.LINE_AA)
    return picture


def _decoded(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


CHUNK = 10_000


def _chunk(first: int, known: int) -> list[RegionSignature]:
    """Region signatures of bank pictures ``first .. first + CHUNK - 1``, cached in /tmp
    (they take longest: about 10 ms each)."""
    # Chunks past the known pictures hold scenes only: one cache whatever ``known`` is.
    tag = str(known) if first < known else "scenes"
    cache = Path(f"/tmp/robust3-signatures-{first}-{tag}.npz")
    if cache.exists():
        # Each ``saved[name]`` reads the whole array from the file again: read each once
        # (slicing it per signature held one full copy per signature, 24 GB at 10,000).
        saved = dict(np.load(cache))
        starts = np.concatenate([[0], np.cumsum(saved["counts"])])
        points, descriptors = saved["points"], saved["descriptors"]
        return [
            RegionSignature(
                int(w), int(h), points[a:b], descriptors[a:b],
                np.unpackbits(c).astype(bool).reshape(16, 16), int(q),
            )  # fmt: skip
            for (w, h), c, q, a, b in zip(
                saved["sizes"], saved["centres"], saved["qualities"], starts[:-1], starts[1:],
                strict=True,
            )
        ]
    found = []
    for number in range(first, first + CHUNK):
        if number < known:
            pixels = _decoded(corpus.jpeg_bytes(recall.picture(number), 92))
        else:
            pixels = scene(1_000_000 + number)
        found.append(region_signature(pixels))
    np.savez(
        cache,
        sizes=np.array([(s.width, s.height) for s in found]),
        centres=np.array([np.packbits(s.centre) for s in found]),
        qualities=np.array([s.centre_quality for s in found]),
        counts=np.array([len(s.descriptors) for s in found]),
        points=np.concatenate([s.points for s in found]),
        descriptors=np.concatenate([s.descriptors for s in found]),
    )
    return found


def signatures(bank: int, known: int, part: tuple[int, int] = (0, 1)) -> list[RegionSignature]:
    """The region signatures of the first ``bank`` pictures (made and cached by ``CHUNK``);
    with ``part`` (k, n) only every n-th chunk from the k-th (to fill the cache in n
    processes)."""
    found: list[RegionSignature] = []
    start = time.perf_counter()
    for first in range(part[0] * CHUNK, bank, part[1] * CHUNK):
        found += _chunk(first, known)
        print(f"{len(found)} pictures, {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return found[:bank]  # a bank smaller than a chunk takes its first pictures only


def build(bank: int, known: int, folder: Path, repeat: int = 1) -> dict[str, float]:
    """Build and save the index of ``bank`` pictures (each ``repeat`` times, under entry
    ids ``number + copy * bank``); its figures."""
    start = time.perf_counter()
    found = signatures(bank, known)
    signed = time.perf_counter() - start
    index = RegionIndex()
    for copy in range(repeat):
        for number, signature in enumerate(found):
            index.add(number + copy * bank, signature)
    if folder.exists():
        shutil.rmtree(folder)
    index.save(folder)
    return {
        "signature_seconds": round(signed, 1),
        "build_and_save_seconds": round(time.perf_counter() - start - signed, 1),
    }


def index_folder(bank: int, known: int, repeat: int) -> Path:
    """Where the index of that bank is cached."""
    return Path(f"/tmp/robust3-regions-{bank}-{known}-x{repeat}")


def cost_1080p(index: RegionIndex, repeats: int = 12) -> dict[str, float]:
    """Median milliseconds on a generated 1080p JPEG: its full decode, its reduced decode
    (what a scan's fast PDQ decodes), and the region query on each."""
    from vigil.hashing.decode import decode
    from vigil.hashing.pdq import FAST_MIN_SIDE

    data = recall.jpeg_1080p()
    full, reduced = decode(data).pixels, decode(data, min_side=FAST_MIN_SIDE).pixels

    def median(call) -> float:
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            call()
            times.append(time.perf_counter() - t0)
        return round(1000 * float(np.median(times)), 1)

    return {
        "full_decode_ms": median(lambda: decode(data)),
        "reduced_decode_ms": median(lambda: decode(data, min_side=FAST_MIN_SIDE)),
        "query_full_ms": median(lambda: index.query(full)),
        "query_reduced_ms": median(lambda: index.query(reduced)),
    }


def run(bank: int, known: int, unbanked: int, fresh: bool, repeat: int = 1) -> dict[str, object]:
    """Query the (cached) index; the figures."""
    folder = index_folder(bank, known, repeat)
    if fresh or not folder.exists():
        built: dict[str, object] = build(bank, known, folder, repeat)
    else:
        built = {"cached": True}
    start = time.perf_counter()
    index = RegionIndex.load(folder)
    load_seconds = time.perf_counter() - start
    queries = [
        (name, number, _decoded(data))
        for number in range(known)
        for name, data in edits.edited(recall.picture(number)).items()
        if name in QUERY_EDITS
    ]
    queries += [
        ("unbanked", -1, _decoded(corpus.jpeg_bytes(recall.picture(number), 88)))
        for number in range(2_000_000, 2_000_000 + unbanked)
    ]
    index.query(queries[0][2])  # compiles the kernel, maps the first pages
    times, found, false = [], {n: 0 for n in QUERY_EDITS}, []
    for name, number, pixels in queries:
        t0 = time.perf_counter()
        matches = index.query(pixels)
        times.append(time.perf_counter() - t0)
        # A query counts once when any copy of its picture is among its matches.
        if name in found:
            found[name] += any(match.entry_id % bank == number for match in matches)
        false += [
            (name, number, match.entry_id, match.inliers, match.centre_distance)
            for match in matches
            if match.entry_id % bank != number
        ]
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    ms = 1000 * np.array(times)
    return {
        "bank": bank * repeat,
        "distinct_pictures": bank,
        "layout": f"{index.layout.tables} tables x {index.layout.key_bits} bits",
        "descriptors": index.descriptor_count,
        "index_mib": round(size / 2**20, 1),
        **built,
        "load_seconds": round(load_seconds, 2),
        "found": {n: f"{found[n]}/{known}" for n in QUERY_EDITS},
        "false_matches": len(false),
        "false_examples": false[:10],
        "different_picture_pairs": (
            known * len(QUERY_EDITS) * (bank - 1) + unbanked * bank
        ) * repeat,
        "query_ms": {
            "median": round(float(np.median(ms)), 1),
            "p95": round(float(np.percentile(ms, 95)), 1),
            "max": round(float(ms.max()), 1),
        },
        "cost_1080p": cost_1080p(index),
    }


_FOLD = """
import sys
from pathlib import Path
from vigil.matching.lab_regions import fold_pending, read_signature, region_folder
from vigil.matching.region_index import RegionIndex
home, how = Path(sys.argv[1]), sys.argv[2]
if how == "fold":
    fold_pending(home, "bank")
else:
    folder = region_folder(home, "bank")
    index = RegionIndex.load(folder)
    for path in sorted(Path(str(folder) + ".pending").glob("*.npz")):
        index.add(int(path.stem), read_signature(path))
    index.save(folder)
"""


def fold(bank: int, known: int, repeat: int, pending: int) -> dict[str, object]:
    """Fold ``pending`` review signatures into the cached index, as the scan does
    (``fold_pending``: a delta segment) and as a full rebuild, each in its own process
    on its own copy (hard links) of the index; wall time and the process's peak RSS
    (``/usr/bin/time``)."""
    from vigil.matching.lab_regions import pending_folder, region_folder, write_signature

    base = index_folder(bank, known, repeat)
    pictures = [scene(5_000_000 + n) for n in range(pending)]
    signed = [region_signature(p) for p in pictures]
    first_id = bank * repeat + 1
    result: dict[str, object] = {"bank": bank * repeat, "pending": pending}
    for how in ("fold", "rebuild", "fold", "rebuild"):
        home = Path(f"/tmp/robust3-fold-{how}")
        if home.exists():
            shutil.rmtree(home)
        shutil.copytree(base, region_folder(home, "bank"), copy_function=os.link)
        waiting = pending_folder(home, "bank")
        waiting.mkdir()
        for number, signature in enumerate(signed):
            write_signature(waiting / f"{first_id + number}.npz", signature)
        t0 = time.perf_counter()
        # GNU time's peak RSS: a child's own rusage would count this process's pages
        # that it had at fork time.
        child = subprocess.run(
            ["/usr/bin/time", "-f", "%M", sys.executable, "-c", _FOLD, str(home), how],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        seconds = time.perf_counter() - t0
        peak_kib = int(child.stderr.strip().splitlines()[-1])
        index = RegionIndex.load(region_folder(home, "bank"))
        crop = _decoded(edits.EDITS["crop20"](Image.fromarray(pictures[-1])))
        runs = result.setdefault(how, [])
        runs.append({
            "seconds": round(seconds, 2),
            "peak_rss_mib": round(peak_kib / 1024, 1),
            "segments": index.segment_count,
            "pictures": len(index),
            "last_crop_found": [m.entry_id for m in index.query(crop)] == [first_id + pending - 1],
        })  # fmt: skip
        shutil.rmtree(home)
    return result


def main() -> None:
    """Print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bank", type=int, default=100_000, help="a multiple of 10,000")
    parser.add_argument("--known", type=int, default=50)
    parser.add_argument("--unbanked", type=int, default=200)
    parser.add_argument("--fresh", action="store_true", help="rebuild the cached index")
    parser.add_argument(
        "--repeat", type=int, default=1,
        help="each picture's signature this many times (a bigger bank for query time)",
    )  # fmt: skip
    parser.add_argument("--signatures-only", action="store_true", help="only fill the cache")
    parser.add_argument(
        "--fold", type=int, metavar="N", help="instead: fold N pending signatures (delta, rebuild)"
    )
    parser.add_argument(
        "--part", default="0/1", help="with --signatures-only: chunks k, k+n, ... (k/n)"
    )
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()}", file=sys.stderr)
    if args.signatures_only:
        k, n = (int(v) for v in args.part.split("/"))
        signatures(args.bank, args.known, (k, n))
        return
    if args.fold:
        result = fold(args.bank, args.known, args.repeat, args.fold)
    else:
        result = run(args.bank, args.known, args.unbanked, args.fresh, args.repeat)
    result["load_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
