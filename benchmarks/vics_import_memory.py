"""Peak memory and rate of importing a 1,000,000-record VICS 2.0 file, plus lookup rate.

Generates a benign VICS 2.0 hash set (random hashes, UTF-8 BOM, booleans as strings) in
a temporary folder, imports it into a temporary library in a child process, and
reports the child's peak RSS against the 500 MB limit. Then times exact lookups
against the imported set (half hits, half misses) against the 20,000 lookups/s target.

Usage: python benchmarks/vics_import_memory.py [--records N] [--lookups N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vigil.hashsets.library import HashSetLibrary
from vigil.matching.exact import ExactMatcher

LIMIT_MB = 500
LOOKUP_TARGET = 20_000
CONTEXT = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media"

_CHILD = """
import json, sys, time
from pathlib import Path
from vigil.hashsets.library import HashSetLibrary
start = time.perf_counter()
result = HashSetLibrary(Path(sys.argv[1])).import_file(Path(sys.argv[2]), "bench")
print(json.dumps({"entries": result.entries, "malformed": result.malformed,
                  "seconds": time.perf_counter() - start}))
"""


def write_vics(path: Path, records: int, seed: int = 7) -> list[tuple[str, str]]:
    """Write a benign VICS 2.0 file of random hashes; return a sample of (md5, sha1)."""
    rng = random.Random(seed)
    sample: list[tuple[str, str]] = []
    with path.open("w", encoding="utf-8-sig", newline="\n") as out:
        out.write(json.dumps({"@odata.context": CONTEXT})[:-1] + ', "value": [\n')
        for index in range(1, records + 1):
            md5 = f"{rng.getrandbits(128):032X}"
            sha1 = f"{rng.getrandbits(160):040X}"
            if index % max(1, records // 1000) == 0:
                sample.append((md5.lower(), sha1.lower()))
            media = {
                "MediaID": index,
                "Category": index % 5,
                "MD5": md5,
                "SHA1": sha1,
                "MediaSize": rng.randrange(1 << 24),
                "IsPrecategorized": "true",
                "VictimIdentified": "false",
                "DateUpdated": "2024-01-02T03:04:05.0000Z",
            }
            out.write(json.dumps(media) + ("," if index < records else "") + "\n")
        out.write("]}\n")
    return sample


def time_lookups(library: HashSetLibrary, sample: list[tuple[str, str]], count: int) -> float:
    """Return exact lookups per second, half of them hits."""
    matcher = ExactMatcher(library)
    rng = random.Random(11)
    queries = []
    for index in range(count):
        if index % 2 == 0:
            md5, sha1 = sample[index % len(sample)]
            queries.append((md5, sha1, f"{rng.getrandbits(256):064x}"))
        else:
            queries.append(
                (
                    f"{rng.getrandbits(128):032x}",
                    f"{rng.getrandbits(160):040x}",
                    f"{rng.getrandbits(256):064x}",
                )
            )
    start = time.perf_counter()
    hits = sum(1 for q in queries if matcher.match(*q))
    elapsed = time.perf_counter() - start
    matcher.close()
    assert hits == (count + 1) // 2, f"expected {(count + 1) // 2} hits, got {hits}"
    return count / elapsed


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as folder:
        source = Path(folder) / "vics.json"
        start = time.perf_counter()
        sample = write_vics(source, args.records)
        print(
            f"generated {args.records:,} records, {source.stat().st_size / 1e6:.1f} MB "
            f"in {time.perf_counter() - start:.1f} s"
        )
        home = Path(folder) / "home"
        child = subprocess.run(
            [sys.executable, "-c", _CHILD, str(home), str(source)],
            check=True,
            capture_output=True,
            text=True,
            env=dict(os.environ),
        )
        stats = json.loads(child.stdout)
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        library = HashSetLibrary(home)
        size_mb = library.path.stat().st_size / 1e6
        print(
            f"imported {stats['entries']:,} entries ({stats['malformed']} malformed) "
            f"in {stats['seconds']:.1f} s = {stats['entries'] / stats['seconds']:,.0f} records/s"
        )
        print(
            f"peak RSS of import child: {peak_mb:.1f} MB vs limit {LIMIT_MB} MB "
            f"= {peak_mb / LIMIT_MB:.2f} of limit"
        )
        print(f"library file: {size_mb:.1f} MB")
        rate = time_lookups(library, sample, args.lookups)
        print(
            f"exact lookups: {rate:,.0f} /s (single thread) vs target {LOOKUP_TARGET:,} /s "
            f"= {rate / LOOKUP_TARGET:.1f}x"
        )


if __name__ == "__main__":
    main()
