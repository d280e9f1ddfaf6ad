"""A PDQ bank too big for one machine, sharded over the workers of a Dask cluster.

The bank is cut into shards, each an ordinary ``PdqIndex`` file (``write_shards``) on
storage the workers see. ``search_shards`` sends each shard's search to one worker,
always the same one for a shard, which keeps that shard memory-mapped between calls
(``_open``), and merges the answers. Every shard is searched exactly, so the merged
answer is the exact answer for the whole bank (the same as one index over all of it).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vigil.hashing.pdq import MATCH_DISTANCE
from vigil.matching.pdq_index import Hit, PdqIndex

_OPEN: dict[str, PdqIndex] = {}
_OPEN_LOCK = threading.Lock()


def write_shards(
    folder: str | os.PathLike[str], ids: np.ndarray, codes: np.ndarray, shards: int
) -> list[Path]:
    """Cut a bank into ``shards`` index files of about equal size.

    Args:
        folder: where the files are written (``shard-000.idx``, ...).
        ids: entry ids.
        codes: N x 32 uint8 PDQ hashes.
        shards: how many shards.

    Returns:
        The shard files, in order.
    """
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, rows in enumerate(np.array_split(np.arange(len(codes)), shards)):
        path = target / f"shard-{number:03d}.idx"
        PdqIndex.write(path, np.asarray(ids)[rows], codes[rows], meta={"shard": number})
        paths.append(path)
    return paths


def _open(path: str) -> PdqIndex:
    with _OPEN_LOCK:
        if path not in _OPEN:
            _OPEN[path] = PdqIndex.load(path)
        return _OPEN[path]


def search_shard(
    path: str, queries: np.ndarray, max_distance: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Search one shard (run on a worker): (query number, entry id, distance) arrays."""
    index = _open(path)
    query_at, rows, distances = index.search_codes(queries, max_distance)
    return query_at, index.ids[rows].astype(np.int64), distances


def search_shards(
    client: Any,
    paths: Sequence[str | os.PathLike[str]],
    queries: np.ndarray,
    max_distance: int = MATCH_DISTANCE,
) -> list[list[Hit]]:
    """Every entry of the sharded bank within ``max_distance`` of each query.

    Args:
        client: a ``distributed.Client``.
        paths: the shard files (from ``write_shards``), readable by the workers.
        queries: Q x 32 uint8 hashes.
        max_distance: largest Hamming distance reported.

    Returns:
        For each query, (entry_id, distance) pairs sorted by distance then id.
    """
    workers = sorted(client.scheduler_info()["workers"])
    futures = [
        client.submit(
            search_shard,
            os.fspath(path),
            queries,
            max_distance,
            workers=[workers[number % len(workers)]],
            pure=False,
        )
        for number, path in enumerate(paths)
    ]
    parts = client.gather(futures)
    query_at, ids, distances = (np.concatenate([part[i] for part in parts]) for i in range(3))
    results: list[list[Hit]] = [[] for _ in range(len(queries))]
    for number in np.lexsort((ids, distances, query_at)).tolist():
        results[int(query_at[number])].append((int(ids[number]), int(distances[number])))
    return results
