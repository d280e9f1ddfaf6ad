"""The exact PDQ index against the brute-force oracle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vigil.matching.pdq_index import Layout, PdqIndex, brute_force, chunk_radii, hex_to_codes

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / ".." / "shared" / "reference" / "pdq" / "data" / "reg-test-input"


def flip_bits(codes: np.ndarray, counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    bits = np.unpackbits(codes, axis=1)
    for row, count in enumerate(counts):
        bits[row, rng.choice(256, int(count), replace=False)] ^= 1
    return np.packbits(bits, axis=1)


def as_hex(codes: np.ndarray) -> list[str]:
    return [bytes(row).hex() for row in codes]


@pytest.fixture(scope="module")
def bank():
    rng = np.random.default_rng(2024)
    codes = rng.integers(0, 256, (60_000, 32), dtype=np.uint8)
    ids = rng.permutation(10**6)[:60_000]
    return ids, codes, PdqIndex.from_arrays(ids, codes), rng


def test_planted_near_duplicates_all_found(bank):
    ids, codes, index, rng = bank
    sources = rng.integers(0, len(codes), 620)
    flips = np.arange(620) % 33  # 0..32 bits: 32 must not match
    queries = as_hex(flip_bits(codes[sources], flips, rng))
    results = index.query_many(queries)
    for query, source, flipped, hits in zip(queries, sources, flips, results, strict=True):
        assert hits == brute_force(codes, ids, query)
        if flipped <= 31:
            assert (int(ids[source]), int(flipped)) in hits
        else:
            assert int(ids[source]) not in [entry for entry, _ in hits]


def test_random_queries_agree_with_oracle(bank):
    ids, codes, index, rng = bank
    queries = as_hex(rng.integers(0, 256, (50, 32), dtype=np.uint8))
    for query, hits in zip(queries, index.query_many(queries), strict=True):
        assert hits == brute_force(codes, ids, query) == []


@pytest.mark.parametrize("radius", [0, 15, 40, 48])
def test_other_radii_agree_with_oracle(bank, radius):
    ids, codes, index, rng = bank
    sources = rng.integers(0, len(codes), 40)
    queries = as_hex(flip_bits(codes[sources], rng.integers(0, radius + 3, 40), rng))
    for query in queries:
        assert index.query(query, max_distance=radius) == brute_force(codes, ids, query, radius)


def test_duplicates_in_bank_are_all_returned():
    value = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
    index = PdqIndex.build([(7, value), (3, value.upper()), (9, "0" * 64)])
    assert index.query(value) == [(3, 0), (7, 0)]
    assert len(index) == 3


def test_reference_haystack_and_needles():
    haystack = (REFERENCE / "haystack.txt").read_text().split()
    needles = (REFERENCE / "needles.txt").read_text().split()
    assert (len(haystack), len(needles)) == (1350, 100)
    index = PdqIndex.build(enumerate(haystack))
    codes = hex_to_codes(haystack)
    ids = np.arange(len(haystack))
    results = index.query_many(needles, max_distance=31)
    assert results == [brute_force(codes, ids, needle) for needle in needles]
    assert sum(len(hits) for hits in results) > 0


@pytest.mark.parametrize("mmap", [True, False])
def test_save_and_load(bank, tmp_path, mmap):
    ids, codes, index, rng = bank
    path = tmp_path / "bank.pdqidx"
    index.save(path)
    loaded = PdqIndex.load(path, mmap=mmap)
    queries = as_hex(flip_bits(codes[:30], np.arange(30), rng))
    assert loaded.query_many(queries) == index.query_many(queries)
    assert len(loaded) == len(index)


def test_load_rejects_other_files(tmp_path):
    path = tmp_path / "not-an-index"
    path.write_bytes(b"hello")
    with pytest.raises(ValueError, match="is not a vigil PDQ index"):
        PdqIndex.load(path)


def test_empty_index_and_bad_hash():
    index = PdqIndex.build([])
    assert index.query("0" * 64) == []
    with pytest.raises(ValueError, match="'xyz'"):
        PdqIndex.build([(1, "xyz")])


def test_large_ids_are_kept():
    index = PdqIndex.build([(2**40, "a" * 64), (-5, "b" * 64)])
    assert index.query("a" * 64) == [(2**40, 0)]
    assert index.query("b" * 64) == [(-5, 0)]


def clustered_bank(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Near-copies of a few pictures (0..40 bits from their original, some exact
    duplicates) among random hashes, as real banks are."""
    centres = rng.integers(0, 256, (6, 32), dtype=np.uint8)
    copies = np.repeat(centres, 400, axis=0)
    copies = flip_bits(copies, rng.integers(0, 41, len(copies)), rng)
    noise = rng.integers(0, 256, (1600, 32), dtype=np.uint8)
    codes = np.concatenate([copies, centres, centres, noise])
    return rng.permutation(len(codes)) * 3 + 11, codes


def uniform_bank(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    codes = rng.integers(0, 256, (4000, 32), dtype=np.uint8)
    return rng.permutation(len(codes)), codes


@pytest.mark.parametrize("method", ["index", "scan"])
@pytest.mark.parametrize("make", [uniform_bank, clustered_bank])
def test_every_threshold_agrees_with_oracle(make, method):
    rng = np.random.default_rng(99)
    ids, codes = make(rng)
    index = PdqIndex.from_arrays(ids, codes)
    # Queries near bank entries (so thresholds matter), plus random ones.
    sources = rng.integers(0, len(codes), 24)
    near = flip_bits(codes[sources], rng.integers(0, 70, 24), rng)
    queries = np.concatenate([near, rng.integers(0, 256, (4, 32), dtype=np.uint8)])
    total = 0
    for radius in range(65):
        results = index.query_codes(queries, radius) if method == "index" else None
        query_at, rows, distances = index.search_codes(queries, radius, method=method)
        for number, query in enumerate(as_hex(queries)):
            oracle = brute_force(codes, ids, query, radius)
            picked = query_at == number
            assert list(zip(index.ids[rows[picked]].tolist(), distances[picked].tolist(),
                            strict=True)) == oracle  # fmt: skip
            if results is not None:
                assert results[number] == oracle
            total += len(oracle)
    # Near-copies of one picture make long hit lists.
    assert total > (40_000 if make is clustered_bank else 500)


def test_chunk_radii_cover_every_distance():
    for chunks in (2, 10, 11, 16):
        for distance in range(257):
            radii = chunk_radii(distance, chunks)
            assert len(radii) == chunks
            assert int((radii + 1).sum()) == distance + 1
            assert radii.max() - radii.min() <= 1


def test_layout_of_a_national_bank():
    layout = Layout.plan(10_000_000)
    assert (layout.chunks, layout.prefix_bits, layout.pos_bits, layout.table_dtype) == (
        11,
        20,
        28,
        "<u4",
    )
    assert layout.lengths.tolist() == [24, 24, 24] + [23] * 8
    assert layout.starts.tolist()[:4] == [0, 24, 48, 72]
    assert Layout.plan(100_000_000).table_dtype == "<u4"
    assert Layout.plan(3_000_000_000).table_dtype == "<u8"


def test_large_bank_uses_the_index_and_agrees(tmp_path):
    rng = np.random.default_rng(5)
    codes = rng.integers(0, 256, (200_000, 32), dtype=np.uint8)
    ids = np.arange(len(codes)) + 10**9
    grades = (np.arange(len(codes)) % 3).astype(np.uint8)
    path = tmp_path / "bank.idx"
    PdqIndex.write(path, ids, codes, extras={"grade": grades}, meta={"set": "national"})
    index = PdqIndex.load(path)
    assert index.meta == {"set": "national"}
    assert index._planned(31, "auto").__name__ == "<lambda>"
    sources = rng.integers(0, len(codes), 60)
    queries = flip_bits(codes[sources], np.arange(60) % 32, rng)
    query_at, rows, distances = index.search_codes(queries)
    assert np.array_equal(query_at, np.arange(60))  # each query finds its source only
    assert np.array_equal(index.ids[rows], ids[sources])
    assert np.array_equal(distances, np.arange(60) % 32)
    assert np.array_equal(index.extras["grade"][rows], grades[sources])
    scanned = index.search_codes(queries, method="scan")
    assert all(np.array_equal(a, b) for a, b in zip(scanned, (query_at, rows, distances),
                                                    strict=True))  # fmt: skip
