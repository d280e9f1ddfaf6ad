"""A PDQ bank sharded over the workers of a real Dask LocalCluster."""

from __future__ import annotations

import numpy as np
from distributed import Client, LocalCluster

from vigil.matching.pdq_index import PdqIndex, brute_force
from vigil.matching.pdq_shards import search_shards, write_shards


def test_sharded_search_equals_one_index_and_the_oracle(tmp_path):
    rng = np.random.default_rng(21)
    centre = rng.integers(0, 256, (1, 32), dtype=np.uint8)
    bits = np.unpackbits(np.repeat(centre, 300, axis=0), axis=1)
    bits ^= rng.random(bits.shape) < 0.06  # near-copies of one picture, ~15 bits away
    codes = np.concatenate([rng.integers(0, 256, (30_000, 32), np.uint8), np.packbits(bits, 1)])
    ids = rng.permutation(len(codes)) + 5
    paths = write_shards(tmp_path, ids, codes, shards=3)
    assert [PdqIndex.load(p).meta for p in paths] == [{"shard": 0}, {"shard": 1}, {"shard": 2}]
    assert sum(len(PdqIndex.load(p)) for p in paths) == len(codes)
    queries = np.concatenate([codes[rng.integers(0, len(codes), 20)], centre])
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        as cluster,
        Client(cluster) as client,
    ):
        found = search_shards(client, paths, queries)
        again = search_shards(client, paths, queries, max_distance=10)
    whole = PdqIndex.from_arrays(ids, codes)
    assert found == whole.query_codes(queries)
    oracle = [brute_force(codes, ids, bytes(q).hex()) for q in queries]
    assert found == oracle
    assert len(found[-1]) > 250  # the centre finds its near-copies in every shard
    assert again == [brute_force(codes, ids, bytes(q).hex(), 10) for q in queries]
