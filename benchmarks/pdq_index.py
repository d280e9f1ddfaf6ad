"""Benchmark the exact PDQ index against a numpy brute-force scan of the same bank.

For each bank size, two banks: ``uniform`` (random 256-bit hashes) and ``clustered``
(10% of the entries are near-copies of a few thousand pictures, 0..40 bits from their
original, as real banks have). Queries: planted near-duplicates of bank entries (1..31
bits flipped), near-copies of cluster centres (clustered bank), and random hashes.

Each bank is written to an index file as ``vigil hashset import`` does, then a fresh
process maps it and answers the queries the way a scan asks them (one picture's 10
variants at a time, one thread): its queries/s (wall and CPU time), resident memory
and peak. The parent then checks a sample of the answers against brute force.

    nice -n 10 python benchmarks/pdq_index.py --bank 10000000
    python benchmarks/pdq_index.py --bank 100000000 --kind uniform --warm-up 10000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from vigil.matching.pdq_index import PdqIndex, brute_force


def flip(codes: np.ndarray, mean_flips: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Copies of ``codes`` with each bit flipped with probability ``mean_flips / 256``."""
    out = np.empty_like(codes)
    for start in range(0, len(codes), 100_000):
        part = slice(start, start + 100_000)
        chance = (mean_flips[part] / 256.0)[:, None]
        masks = np.packbits(rng.random((len(codes[part]), 256)) < chance, axis=1)
        out[part] = codes[part] ^ masks
    return out


def make_bank(kind: str, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(codes, cluster centres) of a ``uniform`` or ``clustered`` bank."""
    codes = rng.integers(0, 256, (size, 32), dtype=np.uint8)
    if kind == "uniform":
        return codes, codes[:0]
    copies = size // 10
    centres = rng.integers(0, 256, (max(1, copies // 1000), 32), dtype=np.uint8)
    owner = rng.integers(0, len(centres), copies)
    codes[:copies] = flip(centres[owner], rng.uniform(0, 40, copies), rng)
    return codes, centres


def make_queries(
    codes: np.ndarray, centres: np.ndarray, count: int, rng: np.random.Generator
) -> np.ndarray:
    """20% planted near-duplicates, 10% near cluster centres (if any), the rest random."""
    planted = count // 5
    sources = rng.integers(0, len(codes), planted)
    near = flip(codes[sources], 1 + np.arange(planted) % 31.0, rng)
    parts = [near]
    if len(centres):
        around = count // 10
        chosen = centres[rng.integers(0, len(centres), around)]
        parts.append(flip(chosen, np.full(around, 8.0), rng))
    parts.append(rng.integers(0, 256, (count - sum(map(len, parts)), 32), dtype=np.uint8))
    return rng.permutation(np.concatenate(parts))


_SERVE = """
import json, resource, sys, time, numpy as np
from vigil.matching.pdq_index import PdqIndex
start = time.perf_counter()
index = PdqIndex.load(sys.argv[1])
opened = time.perf_counter() - start
queries = np.load(sys.argv[2])
warm = int(sys.argv[3])
for row in range(0, warm, 10):  # first touches of the mapped file, not timed
    index.search_codes(queries[row : min(row + 10, warm)])
queries = queries[warm:]
wall, cpu = time.perf_counter(), time.process_time()
results = [index.search_codes(queries[row : row + 10]) for row in range(0, len(queries), 10)]
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
hits = [
    [(int(q) + row, int(index.ids[r]), int(d)) for q, r, d in zip(*found)]
    for row, found in zip(range(0, len(queries), 10), results)
]
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
mib = lambda key: int(status[key].split()[0]) // 1024
mapped, current = 0, ""
for line in open("/proc/self/smaps"):
    if "-" in line.split(" ", 1)[0]:
        current = line.split()[-1]
    elif line.startswith("Rss:") and current == sys.argv[1]:
        mapped += int(line.split()[1]) // 1024
print(json.dumps({
    "open_s": opened, "wall_qps": len(queries) / wall, "cpu_qps": len(queries) / cpu,
    "rss": mib("VmRSS"), "rss_index": mapped, "rss_anon": mib("RssAnon"),
    "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
    "hits": [hit for part in hits for hit in part],
}))
"""


def run(kind: str, bank: int, queries: int, sample: int, seed: int, warm_up: int = 0) -> None:
    """Benchmark one bank and print the figures (``warm_up`` more queries answered first,
    untimed: at 100M their page faults would otherwise dominate)."""
    rng = np.random.default_rng(seed)
    codes, centres = make_bank(kind, bank, rng)
    ids = np.arange(1, bank + 1, dtype=np.int64)
    query_codes = make_queries(codes, centres, warm_up + queries, rng)
    with tempfile.TemporaryDirectory(dir="/tmp", prefix="bank-bench-") as tmp:
        path = Path(tmp) / "bank.idx"
        start = time.perf_counter()
        PdqIndex.write(path, ids, codes, extras={"grade": np.zeros(bank, np.uint8)})
        build = time.perf_counter() - start
        np.save(Path(tmp) / "queries.npy", query_codes)
        child = subprocess.run(
            [sys.executable, "-c", _SERVE, str(path), str(Path(tmp) / "queries.npy"), str(warm_up)],
            capture_output=True,
            text=True,
            check=True,
        )
        served = json.loads(child.stdout)
        size = path.stat().st_size
    by_query: dict[int, list[tuple[int, int]]] = {}
    for number, entry, distance in served["hits"]:
        by_query.setdefault(warm_up + number, []).append((entry, distance))
    rows = warm_up + rng.choice(queries, min(sample, queries), replace=False)
    agree = sum(
        by_query.get(int(row), []) == brute_force(codes, ids, bytes(query_codes[row]).hex())
        for row in rows
    )
    print(f"{kind} bank of {bank:,}: index file {size / 2**20:,.0f} MiB, built in {build:.1f} s")
    print(
        f"  {served['wall_qps']:,.0f} queries/s wall, {served['cpu_qps']:,.0f} per CPU-second"
        f" ({queries:,} queries in batches of 10, one thread; {len(served['hits']):,} hits)"
    )
    print(f"  agrees with brute force on {agree}/{len(rows)} sampled queries")
    print(
        f"  serving process: opened in {served['open_s'] * 1000:.1f} ms; RSS {served['rss']:,}"
        f" MiB ({served['rss_index']:,} MiB of it the mapped index file, shared between"
        f" processes; {served['rss_anon']:,} MiB private); peak {served['peak']:,} MiB"
    )


def main() -> None:
    """Parse arguments and run each bank size and kind."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bank", type=int, action="append", help="bank size (repeatable)")
    parser.add_argument("--kind", action="append", choices=["uniform", "clustered"])
    parser.add_argument("--queries", type=int, default=20_000)
    parser.add_argument("--sample", type=int, default=30, help="queries checked by brute force")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--warm-up", type=int, default=0, help="untimed queries answered first")
    args = parser.parse_args()
    for bank in args.bank or [1_000_000]:
        for kind in args.kind or ["uniform", "clustered"]:
            run(kind, bank, args.queries, args.sample, args.seed, args.warm_up)


if __name__ == "__main__":
    main()
