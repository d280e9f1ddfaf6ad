"""Deconfliction of one case against a large lab content index (synthetic rows).

    PYTHONPATH=src nice -n 10 .venv/bin/python benchmarks/deconfliction.py \
        [--index 1000000] [--case 100000]

Builds a SQLite lab store under /tmp/intel-decon (cached per size) holding ``--index``
contents of 100 other cases (random hashes and random PDQ values of quality 90) and a
case ``Q`` of ``--case`` contents: a tenth of them are contents another case holds
(exact), a tenth are pictures 6 bits away from another case's (perceptual), the rest are
new. Then times ``shared_with_others`` (what ``vigil intel Q`` runs) and checks that
exactly those links were found. Peak RSS of this process is printed.

Target (issue 18): a 1M-content case against a 50M-content index in < 5 minutes.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path("/tmp/intel-decon")
OTHER_CASES = 100


def _hex(rows: np.ndarray) -> list[str]:
    return [bytes(r).hex() for r in rows]


def build(path: Path, index: int, case: int, seed: int = 18) -> None:
    """Write the lab store at ``path`` (see the module docstring)."""
    from sqlalchemy import insert

    from vigil.web.lab import open_lab, writing
    from vigil.web.labschema import intel_contents, intel_holders

    rng = np.random.default_rng(seed)
    lab = open_lab(f"sqlite:///{path}")
    step = 200_000
    with writing(lab) as conn:
        for start in range(0, index, step):
            n = min(step, index - start)
            sha = _hex(rng.integers(0, 256, (n, 32), dtype=np.uint8))
            pdq = _hex(rng.integers(0, 256, (n, 32), dtype=np.uint8))
            conn.execute(
                insert(intel_contents),
                [
                    {"id": start + i + 1, "sha256": sha[i], "sha1": sha[i][:40],
                     "md5": sha[i][:32], "size": 1000, "media": "image", "pdq": pdq[i],
                     "pdq_quality": 90}
                    for i in range(n)
                ],
            )
            conn.execute(
                insert(intel_holders),
                [
                    {"content_id": start + i + 1, "case_name": f"OTHER-{(start + i) % OTHER_CASES}",
                     "exhibit": "E", "items": 1, "indexed_at": "2026-12-01T00:00:00.000000Z"}
                    for i in range(n)
                ],
            )
        shared = case // 10
        # Exact: the case also holds contents 1..shared of the index.
        conn.execute(
            insert(intel_holders),
            [
                {"content_id": i + 1, "case_name": "Q", "exhibit": "E", "items": 1,
                 "indexed_at": "2026-12-01T00:00:00.000000Z"}
                for i in range(shared)
            ],
        )
        # Perceptual: new contents 6 bits away from contents shared+1..2*shared.
        near = conn.execute(
            intel_contents.select().where(
                intel_contents.c.id > shared, intel_contents.c.id <= 2 * shared
            )
        ).all()
        rest = case - 2 * shared
        fresh_sha = _hex(rng.integers(0, 256, (shared + rest, 32), dtype=np.uint8))
        fresh_pdq = _hex(rng.integers(0, 256, (rest, 32), dtype=np.uint8))
        rows = []
        for r in near:
            code = bytearray(bytes.fromhex(r.pdq))
            for bit in (0, 37, 80, 129, 200, 255):
                code[bit // 8] ^= 1 << (bit % 8)
            rows.append(code.hex())
        rows += fresh_pdq
        first = index + 1
        conn.execute(
            insert(intel_contents),
            [
                {"id": first + i, "sha256": fresh_sha[i], "sha1": fresh_sha[i][:40],
                 "md5": fresh_sha[i][:32], "size": 1000, "media": "image", "pdq": rows[i],
                 "pdq_quality": 90}
                for i in range(len(rows))
            ],
        )
        conn.execute(
            insert(intel_holders),
            [
                {"content_id": first + i, "case_name": "Q", "exhibit": "E", "items": 1,
                 "indexed_at": "2026-12-01T00:00:00.000000Z"}
                for i in range(len(rows))
            ],
        )
    lab.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=int, default=1_000_000)
    ap.add_argument("--case", type=int, default=100_000)
    args = ap.parse_args()
    from vigil.intel.shared import shared_with_others
    from vigil.web.lab import open_lab

    ROOT.mkdir(parents=True, exist_ok=True)
    path = ROOT / f"lab-{args.index}-{args.case}.sqlite"
    if not path.exists():
        start = time.perf_counter()
        partial = path.with_suffix(".part")
        partial.unlink(missing_ok=True)
        build(partial, args.index, args.case)
        os.replace(partial, path)
        print(f"built {path} in {time.perf_counter() - start:.1f} s")
    print(f"index {args.index}, case {args.case}, load {os.getloadavg()[0]:.2f}", flush=True)
    lab = open_lab(f"sqlite:///{path}")
    start = time.perf_counter()
    shared = shared_with_others(lab, "Q")
    seconds = time.perf_counter() - start
    exact = sum(1 for s in shared for k in s.links if k.basis == "exact")
    near = sum(1 for s in shared for k in s.links if k.basis == "perceptual" and k.distance == 6)
    other = sum(len(s.links) for s in shared) - exact - near
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"shared_with_others: {seconds:.1f} s; {exact} exact, {near} perceptual at 6 bits, "
        f"{other} others (expected {args.case // 10}, {args.case // 10}, 0); "
        f"peak RSS {peak:.0f} MiB; load {os.getloadavg()[0]:.2f}"
    )
    sys.exit(0 if (exact, near, other) == (args.case // 10, args.case // 10, 0) else 1)


if __name__ == "__main__":
    main()
