"""Benchmark the exact PDQ index against a numpy brute-force scan of the same bank.

A bank of random 256-bit hashes, 100,000 queries of which 1,000 are planted near
duplicates of bank entries (1..31 bits flipped) and the rest random. Reports build
time, resident memory, queries/s (one core) for the index and for brute force (on a
subsample of queries, extrapolated), and recall of the planted duplicates.

    python benchmarks/pdq_index.py --bank 1000000 --bank 10000000
"""

from __future__ import annotations

import argparse
import gc
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from vigil.matching.pdq_index import PdqIndex, brute_force


def rss_mb() -> float:
    """Resident set size of this process in MiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def planted_queries(
    codes: np.ndarray, queries: int, planted: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random queries with ``planted`` near duplicates of bank rows at the front."""
    sources = rng.choice(len(codes), planted, replace=False)
    flips = 1 + np.arange(planted) % 31
    bits = np.unpackbits(codes[sources], axis=1)
    for row, count in enumerate(flips):
        bits[row, rng.choice(256, int(count), replace=False)] ^= 1
    near = np.packbits(bits, axis=1)
    rest = rng.integers(0, 256, (queries - planted, 32), dtype=np.uint8)
    return np.concatenate([near, rest]), sources, flips


def run(bank: int, queries: int, planted: int, brute_sample: int, seed: int) -> None:
    """Benchmark one bank size and print the figures."""
    rng = np.random.default_rng(seed)
    base = rss_mb()
    codes = rng.integers(0, 256, (bank, 32), dtype=np.uint8)
    ids = np.arange(bank, dtype=np.int64)
    query_codes, sources, flips = planted_queries(codes, queries, planted, rng)
    start = time.perf_counter()
    index = PdqIndex.from_arrays(ids, codes)
    build = time.perf_counter() - start
    # Keep a copy for the brute force, but measure the index alone first.
    brute_codes = codes
    del codes
    gc.collect()
    with_bank = rss_mb()
    print(f"bank {bank:,}: build {build:.1f} s")

    start = time.perf_counter()
    results = index.query_codes(query_codes)
    elapsed = time.perf_counter() - start
    found = sum(
        (int(source), int(flip)) in results[row]
        for row, (source, flip) in enumerate(zip(sources, flips, strict=True))
    )
    sample = range(0, queries, max(1, queries // brute_sample))
    start = time.perf_counter()
    oracle = [brute_force(brute_codes, ids, bytes(query_codes[row]).hex()) for row in sample]
    brute = (time.perf_counter() - start) / len(oracle)
    agree = all(results[row] == hits for row, hits in zip(sample, oracle, strict=True))
    index_qps = queries / elapsed
    print(f"  index:       {index_qps:,.0f} queries/s ({queries:,} queries, one thread)")
    print(f"  brute force: {1 / brute:,.1f} queries/s (measured on {len(oracle)} queries)")
    print(f"  speed-up:    {index_qps * brute:,.0f}x")
    print(f"  recall:      {found}/{planted} planted near-duplicates ({found / planted:.1%})")
    print(f"  agrees with brute force on the sample: {agree}")
    index_bytes = sum(
        array.nbytes for array in (index._codes, index._ids, index._tables, index._offsets)
    )
    print(f"  index arrays: {index_bytes / 2**20:,.0f} MiB")
    print(
        f"  process RSS: {with_bank:,.0f} MiB with index + bank copy for brute force"
        f" (baseline {base:,.0f} MiB; bank copy {brute_codes.nbytes / 2**20:,.0f} MiB)"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  process peak RSS so far (queries and their results included): {peak:,.0f} MiB")
    # As a scan uses it: saved once, loaded (memory-mapped) by a fresh process that then
    # answers every query. Its peak RSS is the index's resident memory in production.
    with tempfile.TemporaryDirectory() as tmp:
        index.save(Path(tmp) / "bank.idx")
        np.save(Path(tmp) / "queries.npy", query_codes)
        del index, brute_codes, results
        gc.collect()
        child = subprocess.run(
            [sys.executable, "-c", _SERVE.format(tmp=tmp)],
            capture_output=True,
            text=True,
            check=True,
        )
        print(
            f"  fresh process, index loaded from disk, {queries:,} queries: {child.stdout.strip()}"
        )


_SERVE = """
import resource, time, numpy as np
from vigil.matching.pdq_index import PdqIndex
index = PdqIndex.load("{tmp}/bank.idx")
queries = np.load("{tmp}/queries.npy")[:5000]
start = time.perf_counter()
# As the scan's matcher asks: one picture's 10 variants at a time.
for row in range(0, len(queries), 10):
    index.query_codes(queries[row : row + 10])
elapsed = time.perf_counter() - start
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
mib = lambda key: int(status[key].split()[0]) // 1024
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(f"RSS {{mib('VmRSS'):,}} MiB ({{mib('RssFile'):,}} MiB the memory-mapped index, shared by"
      f" workers; {{mib('RssAnon'):,}} MiB private), peak {{peak:,}} MiB (limit 1,024 MiB);"
      f" {{len(queries) / elapsed:,.0f}} queries/s in batches of 10")
"""


def main() -> None:
    """Parse arguments and run each bank size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bank", type=int, action="append", help="bank size (repeatable)")
    parser.add_argument("--queries", type=int, default=100_000)
    parser.add_argument("--planted", type=int, default=1_000)
    parser.add_argument("--brute-sample", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    for bank in args.bank or [1_000_000]:
        run(bank, args.queries, args.planted, args.brute_sample, args.seed)


if __name__ == "__main__":
    main()
