"""The exact PDQ index against the brute-force oracle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vigil.matching.pdq_index import (
    Layout,
    PdqIndex,
    _prefix_masks,
    brute_force,
    chunk_radii,
    hex_to_codes,
)

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
    # Bucket starts need 24 bits; the 8 above hold which rests (3 of their 3-4 bits) occur.
    assert layout.presence_log == 3
    assert Layout.plan(100_000).presence_log == 0  # 10-11 bits after the prefix: no room
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


def test_answers_longer_than_the_first_buffers_are_whole():
    # 3,000 near-copies of one picture: one batch of 4 queries has 12,000 pairs, far past
    # the 1,024 the compiled search starts with, and is still answered in one pass.
    rng = np.random.default_rng(9)
    centre = rng.integers(0, 256, (1, 32), dtype=np.uint8)
    copies = flip_bits(np.repeat(centre, 3_000, axis=0), np.arange(3_000) % 9, rng)
    codes = np.concatenate([copies, rng.integers(0, 256, (40_000, 32), dtype=np.uint8)])
    ids = np.arange(len(codes)) + 7
    index = PdqIndex.from_arrays(ids, codes)
    queries = flip_bits(np.repeat(centre, 4, axis=0), np.array([0, 1, 2, 3]), rng)
    for method in ("index", "scan"):
        results = index.query_codes(queries, 31) if method == "index" else [
            [(int(index.ids[r]), int(d)) for q, r, d in zip(*index.search_codes(queries, 31,
             method="scan"), strict=True) if q == number] for number in range(4)
        ]  # fmt: skip
        for number, found in enumerate(results):
            assert len(found) >= 3_000
            assert found == brute_force(codes, ids, bytes(queries[number]).hex(), 31)


def test_compiled_search_rejects_arrays_that_do_not_fit_the_layout(bank):
    from vigil.matching import _pdq_search

    _ids, codes, index, _rng = bank
    search = index._planned(31, "index")
    queries = codes[:2].view(np.uint64).reshape(2, 4)
    assert len(np.frombuffer(search(queries, 31, 1)[0], dtype=np.int64)) == 2
    layout = index.layout
    radii = chunk_radii(31, layout.chunks)
    masks, ends = _prefix_masks(layout.prefix_bits, 2)
    wide = index._tables.dtype.itemsize == 8, index._offsets.dtype.itemsize == 8

    def search_with(tables, offsets, masks, ends):
        return _pdq_search.search(
            index._words, tables, wide[0], offsets, wide[1], index._starts, index._lengths,
            layout.prefix_bits, layout.pos_bits, layout.presence_log, radii, masks, ends,
            queries, 31, 16,
        )  # fmt: skip

    assert search_with(index._tables, index._offsets, masks, ends) == search(queries, 31, 1)
    for tables, offsets, masks_, ends_ in (
        (np.ascontiguousarray(index._tables[:, :-1]), index._offsets, masks, ends),  # cut
        (index._tables, index._offsets, masks[:20], ends),  # fewer masks than radius 2 needs
        (index._tables, index._offsets, masks + np.uint64(1 << 30), ends),  # masks too wide
        (index._tables, np.ascontiguousarray(index._offsets[:, :-1]), masks, ends),
    ):
        with pytest.raises(ValueError, match="do not match their layout"):
            search_with(tables, offsets, masks_, ends_)
    damaged = np.array(index._offsets)
    damaged[1:, 1:] = len(codes) + 5  # bucket ends past the tables, as in a damaged file
    with pytest.raises(ValueError, match="outside its tables"):
        search_with(index._tables, damaged, masks, ends)


def test_searching_a_mapped_index_does_not_load_numba(tmp_path):
    # A scan's workers only map and search: numba and LLVM (~110 MiB, ~1 CPU-s per
    # process) are for building an index.
    import subprocess
    import sys

    rng = np.random.default_rng(3)
    codes = rng.integers(0, 256, (20_000, 32), dtype=np.uint8)
    PdqIndex.write(tmp_path / "bank.idx", np.arange(20_000), codes)
    script = (
        "import sys\nfrom vigil.matching.pdq_index import PdqIndex, hex_to_codes\n"
        f"index = PdqIndex.load({str(tmp_path / 'bank.idx')!r})\n"
        f"print(index.query_codes(hex_to_codes([{bytes(codes[5]).hex()!r}]))[0])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numba', 'llvmlite')))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout.splitlines()  # fmt: skip
    assert out == ["[(5, 0)]", "[]"]


def test_a_copied_index_is_settled_without_changing_it(tmp_path):
    import hashlib
    import shutil

    from vigil.matching.pdq_index import settle_in_large_pages

    rng = np.random.default_rng(4)
    codes = rng.integers(0, 256, (300_000, 32), dtype=np.uint8)  # a 23 MiB file
    PdqIndex.write(tmp_path / "bank.idx", np.arange(300_000), codes)
    shutil.copyfile(tmp_path / "bank.idx", tmp_path / "copy.idx")
    digest = hashlib.sha256((tmp_path / "copy.idx").read_bytes()).hexdigest()
    queries = flip_bits(codes[:50], np.arange(50) % 32, rng)
    before = PdqIndex.load(tmp_path / "copy.idx").query_codes(queries)
    assert isinstance(settle_in_large_pages(tmp_path / "copy.idx"), bool)
    assert hashlib.sha256((tmp_path / "copy.idx").read_bytes()).hexdigest() == digest
    index = PdqIndex.load(tmp_path / "copy.idx")
    assert index.path == tmp_path / "copy.idx"
    assert index.query_codes(queries) == before
    assert [hits[0] for hits in before] == [(i, i % 32) for i in range(50)]
    small = tmp_path / "small.idx"
    PdqIndex.write(small, np.arange(1_000), codes[:1_000])
    assert settle_in_large_pages(small) is False  # under 8 MiB: nothing to gain


def test_a_file_the_kernel_keeps_in_small_pages_is_reloaded_once(tmp_path, monkeypatch):
    # Whether 2 MiB pages are used is the kernel's choice: here it is made to refuse them,
    # so the reload happens once, the note stops the next scans, and a new file retries.
    from vigil.matching import pdq_index

    rng = np.random.default_rng(6)
    codes = rng.integers(0, 256, (300_000, 32), dtype=np.uint8)
    path = tmp_path / "bank.idx"
    PdqIndex.write(path, np.arange(300_000), codes)
    reloads = []
    monkeypatch.setattr(pdq_index, "_large_share", lambda handle, size: 0.0)
    monkeypatch.setattr(pdq_index, "_reload_in_large_pages", reloads.append)
    note = tmp_path / "bank.idx.small-pages"
    assert pdq_index.settle_in_large_pages(path) is True
    assert note.read_text() == f"{path.stat().st_size} {path.stat().st_mtime_ns}"
    assert pdq_index.settle_in_large_pages(path) is False
    assert reloads == [path]
    PdqIndex.write(path, np.arange(300_000), codes[::-1].copy())  # a new import
    assert len(reloads) == 2  # ``write`` itself reads the file back
    assert pdq_index.settle_in_large_pages(path) is True
    assert reloads == [path, path, path]
    monkeypatch.setattr(pdq_index, "_large_share", lambda handle, size: 0.9)
    assert pdq_index.settle_in_large_pages(path) is False  # already in large pages


@pytest.mark.parametrize("chunks", [32, 11])
def test_chunks_without_remaining_bits_agree_with_oracle(chunks):
    # At 100M the 23-bit chunks are all prefix (no bits left for the table entries); 32
    # chunks of 8 bits over 5,000 entries make the same case small.
    rng = np.random.default_rng(12)
    codes = rng.integers(0, 256, (5_000, 32), dtype=np.uint8)
    ids = np.arange(len(codes)) * 3
    index = PdqIndex.from_arrays(ids, codes, chunks=chunks)
    if chunks == 32:
        assert index.layout.prefix_bits == 8 == int(index.layout.lengths.max())
    queries = flip_bits(codes[:40], np.arange(40) % 40, rng)
    for radius in (0, 7, 31, 40):
        found = index.query_codes(queries, radius)
        assert found == [brute_force(codes, ids, bytes(q).hex(), radius) for q in queries]


@pytest.mark.parametrize(
    ("chunks", "count", "presence_log", "rest_bits"),
    # The last: one bit after the prefix, as on 100M banks' 24-bit chunks (2 presence bits).
    [(16, 65_536, 3, 3), (16, 20_000, 4, 5), (12, 600_000, 3, 6), (16, 300_000, 1, 1)],
)
def test_presence_bits_agree_with_oracle(chunks, count, presence_log, rest_bits):
    # Banks whose chunks keep few bits after the prefix (10M at 11 chunks, made small
    # here by more chunks): each bucket start carries the set of rests its rows have,
    # exactly (3 rest bits, 8 presence bits) or by their top bits; probes whose rests
    # are all absent are dropped unread. Near-copies of a few pictures fill some buckets.
    rng = np.random.default_rng(count)
    centres = rng.integers(0, 256, (5, 32), dtype=np.uint8)
    copies = flip_bits(np.repeat(centres, 300, axis=0), rng.integers(0, 41, 1_500), rng)
    noise = rng.integers(0, 256, (count - len(copies), 32), dtype=np.uint8)
    codes = np.concatenate([copies, noise])
    ids = rng.permutation(len(codes)) + 100
    index = PdqIndex.from_arrays(ids, codes, chunks=chunks)
    layout = index.layout
    assert layout.presence_log == presence_log
    assert int(layout.lengths.max()) - layout.prefix_bits == rest_bits
    assert int(index._offsets.max()) >= len(codes)  # presence bits above the starts
    sources = rng.integers(0, len(codes), 30)
    queries = np.concatenate([
        flip_bits(codes[sources], rng.integers(0, 60, 30), rng),
        flip_bits(np.repeat(centres[:1], 3, axis=0), np.array([0, 9, 20]), rng),
    ])  # fmt: skip
    words = codes.view(np.uint64)
    distances = np.stack([np.bitwise_count(words ^ q).sum(axis=1) for q in queries.view(np.uint64)])
    found = 0
    for radius in (0, 1, 2, 3, 5, 8, 13, 20, 26, 31, 32, 40, 48, 64):
        results = index.query_codes(queries, radius)
        for number, hits in enumerate(results):
            within = np.flatnonzero(distances[number] <= radius)
            order = np.lexsort((ids[within], distances[number][within]))
            oracle = [(int(ids[within[i]]), int(distances[number][within[i]])) for i in order]
            assert hits == oracle
            found += len(hits)
    assert found > 2_000  # the centres' copies make long lists


def test_index_files_of_the_previous_version_are_still_searched(tmp_path, monkeypatch):
    # Libraries imported by vigil 0.1's index format (no presence bits) keep working
    # until their next import rewrites the file.
    from vigil.matching import pdq_index

    rng = np.random.default_rng(21)
    codes = rng.integers(0, 256, (65_536, 32), dtype=np.uint8)
    ids = np.arange(len(codes)) + 1
    plan = Layout.plan

    def without_presence(count, chunks=pdq_index.CHUNKS):
        layout = plan(count, chunks)
        return Layout(**{**layout.__dict__, "presence_log": 0})

    monkeypatch.setattr(pdq_index.Layout, "plan", staticmethod(without_presence))
    monkeypatch.setattr(pdq_index, "_MAGIC", b"VIGILPDQIDX2\n")
    PdqIndex.write(tmp_path / "old.idx", ids, codes, chunks=16)
    monkeypatch.undo()
    assert (tmp_path / "old.idx").read_bytes().startswith(b"VIGILPDQIDX2\n")
    old = PdqIndex.load(tmp_path / "old.idx")
    assert old.layout.presence_log == 0
    PdqIndex.write(tmp_path / "new.idx", ids, codes, chunks=16)
    new = PdqIndex.load(tmp_path / "new.idx")
    assert new.layout.presence_log == 3
    queries = flip_bits(codes[:40], np.arange(40) % 36, rng)
    expected = [brute_force(codes, ids, bytes(q).hex()) for q in queries]
    assert old.query_codes(queries) == new.query_codes(queries) == expected
    assert [hits[:1] for hits in expected[:32]] == [[(i + 1, i)] for i in range(32)]
