"""The lab bank's region index: crops, turns, letterboxed and inset copies of known
pictures are found, other pictures are not, and the index survives save and load."""

from __future__ import annotations

import hashlib
import io
import json

import numpy as np
import pytest
from PIL import Image

from tests_support import load_benchmark
from vigil.hashing import pdq
from vigil.hashing.regions import BANK_FEATURES, SIDE, region_signature
from vigil.hashsets.entry import HashEntry
from vigil.hashsets.library import HashSetLibrary
from vigil.matching.lab_regions import LabRegions, RegionMatcher, pending_folder, region_folder
from vigil.matching.region_index import (
    CENTRE_DISTANCE,
    EXTRA_TABLES,
    MAX_DELTAS,
    MIN_INLIERS,
    REFERENCE_DESCRIPTORS,
    Layout,
    RegionIndex,
    _fences,
)
from vigil.matching.region_kernel import bucket_spans

corpus, edits = load_benchmark("corpus"), load_benchmark("edits")
KNOWN = 8


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def _photo(seed: int) -> Image.Image:
    return corpus.photo(7000 + seed, 800, 600)


@pytest.fixture(scope="module")
def index() -> RegionIndex:
    built = RegionIndex()
    for seed in range(KNOWN):
        built.add(100 + seed, region_signature(_pixels(corpus.jpeg_bytes(_photo(seed), 92))))
    return built


def test_signature_holds_keypoints_and_a_centre_hash_only():
    signature = region_signature(_pixels(corpus.jpeg_bytes(_photo(0), 92)))
    assert (signature.width, signature.height) == (SIDE, 384)
    assert 100 <= len(signature.points) <= BANK_FEATURES
    assert signature.descriptors.shape == (len(signature.points), 32)
    assert signature.descriptors.dtype == np.uint8
    assert signature.centre.shape == (16, 16) and signature.centre_quality >= 50
    # The same picture at another size gives the same frame and nearly the same centre.
    half = region_signature(_pixels(corpus.jpeg_bytes(_photo(0).resize((400, 300)), 92)))
    assert (half.width, half.height) == (SIDE, 384)
    assert np.count_nonzero(half.centre != signature.centre) <= 16


@pytest.mark.parametrize("edit", ["crop5", "crop20", "rotate5", "letterbox", "rot90", "inset"])
def test_copies_that_pdq_misses_are_found(index, edit):
    for seed in (1, 5):
        photo = _photo(seed)
        data = edits.inset(photo) if edit == "inset" else edits.EDITS[edit](photo)
        matches = index.query(_pixels(data))
        assert [m.entry_id for m in matches] == [100 + seed]
        # An inset copy is small in the query's frame: fewer keypoints, same verification.
        assert matches[0].inliers >= (MIN_INLIERS if edit == "inset" else 40)
        assert matches[0].centre_distance <= CENTRE_DISTANCE - 10
        if edit == "crop20":  # PDQ alone cannot find this copy
            original = pdq.pdq_for_file(corpus.jpeg_bytes(photo, 92), "reference").hash
            assert pdq.hamming(pdq.pdq_for_file(data).hash, original) > 31


def test_turn_and_scale_are_reported(index):
    photo = _photo(3)
    turned = index.query(_pixels(edits.EDITS["rotate5"](photo)))[0]
    assert turned.scale == pytest.approx(1.0, abs=0.03)
    assert turned.degrees == pytest.approx(5.0, abs=0.5)
    inset = index.query(_pixels(edits.inset(photo)))[0]
    assert inset.scale == pytest.approx(1280 / 360, abs=0.1)  # the known picture is 1280/360 larger
    assert inset.variant.startswith(f"keypoints {inset.inliers}, scale ")


def test_other_pictures_are_not_found(index):
    for seed in range(20):
        other = corpus.photo(8000 + seed, 800, 600)
        assert index.query(_pixels(corpus.jpeg_bytes(other, 88))) == []
    flat = np.full((300, 400, 3), 128, np.uint8)
    assert index.query(flat) == []
    assert RegionIndex().query(_pixels(corpus.jpeg_bytes(_photo(1), 92))) == []


def test_saved_index_maps_back_and_grows(index, tmp_path):
    index.save(tmp_path / "bank")
    loaded = RegionIndex.load(tmp_path / "bank")
    assert len(loaded) == KNOWN and loaded.descriptor_count == index.descriptor_count
    query = _pixels(edits.EDITS["crop10"](_photo(2)))
    assert loaded.query(query) == index.query(query)
    new = corpus.photo(7500, 640, 480)
    loaded.add(900, region_signature(_pixels(corpus.jpeg_bytes(new, 92))))
    loaded.save(tmp_path / "bank")  # replaces the folder it was mapped from
    again = RegionIndex.load(tmp_path / "bank")
    assert len(again) == KNOWN + 1
    assert [m.entry_id for m in again.query(_pixels(edits.EDITS["crop10"](new)))] == [900]
    assert [m.entry_id for m in again.query(query)] == [102]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bank"]


def test_lab_set_regions_match_through_the_library(tmp_path):
    library = HashSetLibrary(tmp_path)
    photos = [_photo(seed) for seed in range(3)]
    listing = tmp_path / "graded.txt"
    hashes = [pdq.pdq_for_file(corpus.jpeg_bytes(p, 92), "reference").hash for p in photos]
    listing.write_text("".join(f"{h}\n" for h in hashes))
    library.import_file(listing, "lab", fmt="pdq", scheme="uk", grade="B")
    by_hash = {h: entry_id for entry_id, _set, h, _grade in library.entries_with_pdq(["lab"])}
    regions = LabRegions(library, "lab")
    for photo, value in zip(photos, hashes, strict=True):
        regions.add(by_hash[value], _pixels(corpus.jpeg_bytes(photo, 92)))
    regions.save()
    assert region_folder(tmp_path, "lab").is_dir()
    matcher = RegionMatcher(library, None)
    found = matcher.match_pixels(_pixels(edits.EDITS["crop20"](photos[1])))
    assert [(m.hashset, m.entry_id, m.grade, m.basis, m.algorithm) for m in found] == [
        ("lab", by_hash[hashes[1]], "B", "perceptual", "orb-regions")
    ]
    assert found[0].distance is not None and found[0].distance <= 40
    library.suppress("lab", by_hash[hashes[1]], "test: a bad entry")
    assert RegionMatcher(library, ["lab"]).match_pixels(
        _pixels(edits.EDITS["crop20"](photos[1]))
    ) == []


def test_pending_signatures_are_folded_in_by_the_next_matcher(tmp_path):
    library = HashSetLibrary(tmp_path)
    photo = _photo(4)
    listing = tmp_path / "graded.txt"
    listing.write_text(pdq.pdq_for_file(corpus.jpeg_bytes(photo, 92), "reference").hash + "\n")
    library.import_file(listing, "lab", fmt="pdq", scheme="uk", grade="C")
    [(entry_id, _set, _hash, _grade)] = list(library.entries_with_pdq(["lab"]))
    LabRegions(library, "lab").add_pending(entry_id, _pixels(corpus.jpeg_bytes(photo, 92)))
    assert sorted(p.name for p in pending_folder(tmp_path, "lab").iterdir()) == [f"{entry_id}.npz"]
    assert not region_folder(tmp_path, "lab").exists()
    matcher = RegionMatcher(library, ["lab"])
    assert not pending_folder(tmp_path, "lab").exists()
    found = matcher.match_pixels(_pixels(edits.EDITS["crop10"](photo)))
    assert [(m.entry_id, m.grade, m.algorithm) for m in found] == [(entry_id, "C", "orb-regions")]
    assert len(RegionIndex.load(region_folder(tmp_path, "lab"))) == 1


def test_removing_a_set_removes_its_region_signatures(tmp_path):
    library = HashSetLibrary(tmp_path)
    for name, seed in (("lab", 5), ("kept", 6)):
        listing = tmp_path / f"{name}.txt"
        photo = corpus.jpeg_bytes(_photo(seed), 92)
        listing.write_text(pdq.pdq_for_file(photo, "reference").hash + "\n")
        library.import_file(listing, name, fmt="pdq", scheme="uk", grade="B")
        [(entry_id, *_rest)] = list(library.entries_with_pdq([name]))
        regions = LabRegions(library, name)
        regions.add(entry_id, _pixels(photo))
        regions.save()
        regions.add_pending(entry_id + 1000, _pixels(photo))
    RegionMatcher(library, ["kept"])  # folds "kept"'s pending signature (takes its lock)
    library.remove("lab")
    left = sorted(p.name for p in (tmp_path / "regions").iterdir())
    assert left == ["kept", "kept.lock"]
    assert len(RegionIndex.load(region_folder(tmp_path, "kept"))) == 2


def test_layout_keeps_the_reference_keys_and_grows_with_the_bank():
    assert Layout.for_size(1) == Layout.for_size(REFERENCE_DESCRIPTORS) == Layout(20, 8)
    assert Layout.for_size(REFERENCE_DESCRIPTORS + 1) == Layout(21, 8 + EXTRA_TABLES)
    assert Layout.for_size(22_500_000) == Layout(23, 8 + 3 * EXTRA_TABLES)
    reference, grown = Layout().positions(), Layout(23, 11).positions()
    # The reference tables: 8 disjoint sets of 20 positions of one fixed permutation.
    assert reference.shape == (8, 20) and len(set(reference.ravel().tolist())) == 160
    assert reference.ravel().tolist() == np.random.default_rng(17).permutation(256)[:160].tolist()
    # A grown layout keeps them as the low 20 bits of its first 8 keys.
    assert grown.shape == (11, 23) and (grown[:8, :20] == reference).all()
    assert all(len(set(row.tolist())) == 23 for row in grown)
    # Keys against bits unpacked one by one (most significant bit of byte 0 first).
    rng = np.random.default_rng(3)
    descriptors = rng.integers(0, 256, (50, 32), dtype=np.uint8)
    bits = np.unpackbits(descriptors, axis=1).astype(np.int64)
    for layout in (Layout(), Layout(23, 11)):
        positions = layout.positions()
        expected = (bits[:, positions] << np.arange(layout.key_bits)).sum(axis=2).T
        assert (layout.keys(descriptors) == expected).all()
    single = np.zeros((1, 32), np.uint8)
    single[0, reference[0, 0] // 8] = 0x80 >> (reference[0, 0] % 8)
    assert Layout().keys(single)[:, 0].tolist() == [1] + [0] * 7


def _queries() -> list[np.ndarray]:
    photos = [_photo(seed) for seed in (0, 3, 6)] + [corpus.photo(7500, 640, 480)]
    return [_pixels(edits.EDITS[e](p)) for p in photos for e in ("crop10", "rotate5")]


def test_appended_deltas_answer_as_a_rebuilt_index(index, tmp_path):
    folder = tmp_path / "bank"
    index.save(folder)
    assert json.loads((folder / "layout.json").read_text()) == {
        "version": 2, "key_bits": 20, "tables": 8, "deltas": []
    }
    extra = [corpus.photo(7500 + n, 640, 480) for n in range(MAX_DELTAS + 1)]
    rebuilt = RegionIndex.load(folder)
    listings = []
    for number, photo in enumerate(extra):
        signature = region_signature(_pixels(corpus.jpeg_bytes(photo, 92)))
        loaded = RegionIndex.load(folder)
        loaded.add(900 + number, signature)
        loaded.append(folder)
        rebuilt.add(900 + number, signature)
        again = RegionIndex.load(folder)
        listings.append(sorted(p.name for p in folder.iterdir() if p.is_dir()))
        assert len(again) == KNOWN + number + 1
        assert [m.entry_id for m in again.query(_pixels(edits.EDITS["crop20"](photo)))] == [
            900 + number
        ]
    # One delta per fold; the fifth would make MAX_DELTAS + 1: the deltas merged into one.
    assert listings[:MAX_DELTAS] == [[f"delta-{n:06d}" for n in range(1, k + 2)]
                                     for k in range(MAX_DELTAS)]  # fmt: skip
    assert listings[MAX_DELTAS] == [f"delta-{MAX_DELTAS + 1:06d}"]
    appended = RegionIndex.load(folder)
    assert appended.segment_count == 2
    assert [appended.query(q) for q in _queries()] == [rebuilt.query(q) for q in _queries()]
    assert all(rebuilt.query(q) for q in _queries())
    assert rebuilt.segment_count == 1  # the query folded the pending pictures in


def test_deltas_outgrowing_the_main_segment_are_rebuilt(tmp_path):
    folder = tmp_path / "bank"
    first = RegionIndex()
    first.add(1, region_signature(_pixels(corpus.jpeg_bytes(_photo(0), 92))))
    first.save(folder)
    loaded = RegionIndex.load(folder)
    for seed in (1, 2):
        loaded.add(1 + seed, region_signature(_pixels(corpus.jpeg_bytes(_photo(seed), 92))))
    loaded.append(folder)  # twice the main segment: one segment again
    assert sorted(p.name for p in folder.iterdir()) == sorted([f"{n}.npy" for n in (
        "ids", "sizes", "centres", "starts", "points", "descriptors", "owners", "keys", "orders",
        "fences")] + ["layout.json"])  # fmt: skip
    assert len(RegionIndex.load(folder)) == 3


def test_an_index_saved_before_layouts_still_answers(index, tmp_path):
    folder = tmp_path / "bank"
    index.save(folder)
    expected = [index.query(q) for q in _queries()]
    # The earlier format: one offset table per 20-bit key instead of sorted keys.
    keys = np.load(folder / "keys.npy")
    offsets = np.zeros((8, (1 << 20) + 1), np.int64)
    for t in range(8):
        np.cumsum(np.bincount(keys[t], minlength=1 << 20), out=offsets[t, 1:])
    np.save(folder / "offsets.npy", offsets)
    for name in ("keys.npy", "fences.npy", "layout.json"):
        (folder / name).unlink()
    legacy = RegionIndex.load(folder)
    assert legacy.layout == Layout(20, 8)
    assert [legacy.query(q) for q in _queries()] == expected


def _graded(library: HashSetLibrary, photos: dict[str, Image.Image], grade: str | None) -> None:
    entries = [
        (HashEntry(md5=None, sha1=None, sha256=hashlib.sha256(name.encode()).hexdigest(),
                   pdq=pdq.pdq_for_file(corpus.jpeg_bytes(photo, 92), "reference").hash),
         grade)
        for name, photo in photos.items()
    ]  # fmt: skip
    library.put_entries("lab", "lab-review", "uk", entries)


def test_a_grade_is_folded_in_as_a_delta_and_a_taken_back_one_is_not_found(tmp_path):
    library = HashSetLibrary(tmp_path)
    banked = {f"banked{seed}": _photo(seed) for seed in range(3)}
    _graded(library, banked, "B")
    by_pdq = {pdq.pdq_for_file(corpus.jpeg_bytes(p, 92), "reference").hash: (n, p)
              for n, p in banked.items()}  # fmt: skip
    regions, ids = LabRegions(library, "lab"), {}
    for entry_id, _set, value, _grade in library.entries_with_pdq(["lab"]):
        name, photo = by_pdq[value]
        regions.add(entry_id, _pixels(corpus.jpeg_bytes(photo, 92)))
        ids[name] = entry_id
    regions.save()
    folder = region_folder(tmp_path, "lab")
    main_file = (folder / "descriptors.npy").stat()
    # A review grade: a new entry, its signature pending until the next matcher.
    graded = _photo(7)
    _graded(library, {"graded": graded}, "A")
    [new_id] = [e for e, *_rest in library.entries_with_pdq(["lab"]) if e not in ids.values()]
    LabRegions(library, "lab").add_pending(new_id, _pixels(corpus.jpeg_bytes(graded, 92)))
    crop = _pixels(edits.EDITS["crop20"](graded))
    found = RegionMatcher(library, ["lab"]).match_pixels(crop)
    assert [(m.entry_id, m.grade, m.algorithm) for m in found] == [(new_id, "A", "orb-regions")]
    # Folded as a delta: the main segment's files are the ones written before.
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == ["delta-000001"]
    assert (folder / "descriptors.npy").stat().st_ino == main_file.st_ino
    assert not pending_folder(tmp_path, "lab").exists()
    assert len(RegionIndex.load(folder)) == 4
    # The earlier pictures are still found through both segments.
    earlier = RegionMatcher(library, ["lab"]).match_pixels(_pixels(edits.EDITS["crop20"](
        banked["banked1"])))  # fmt: skip
    assert [m.entry_id for m in earlier] == [ids["banked1"]]
    # The grade taken back: its entry is gone, so its signature no longer matches.
    _graded(library, {"graded": graded}, None)
    assert RegionMatcher(library, ["lab"]).match_pixels(crop) == []
    library.remove("lab")
    assert sorted((tmp_path / "regions").iterdir()) == []


def test_buckets_through_fences_are_the_runs_of_equal_keys():
    rng = np.random.default_rng(5)
    descriptors = rng.integers(0, 256, (3000, 32), dtype=np.uint8)
    descriptors[1000:1400] = descriptors[0]  # one crowded key in every table
    layout = Layout(20, 3)
    keys = np.sort(layout.keys(descriptors), axis=1)
    queries = layout.keys(descriptors[::7])
    pairs = list(zip(keys, queries, strict=True))
    expected_starts = np.stack([np.searchsorted(k, q, "left") for k, q in pairs], 1)
    expected_ends = np.stack([np.searchsorted(k, q, "right") for k, q in pairs], 1)
    every_key = np.stack([np.searchsorted(k, np.arange((1 << 20) + 1), "left") for k in keys])
    coarse = _fences(keys, 20)  # 3,000 descriptors: fences of the top 12 bits
    assert coarse.shape == (3, (1 << 12) + 1)
    for fences, shift in ((every_key, 0), (coarse, 8)):
        starts = np.empty(expected_starts.shape, np.int64)
        counts = np.empty_like(starts)
        # With a fence per key the sorted keys are not read (the kernel gets none).
        bucket_spans(keys if shift else np.zeros((1, 1), np.uint32), fences, shift, queries,
                     starts, counts)  # fmt: skip
        assert (starts == expected_starts).all() and (counts == expected_ends - starts).all()
        assert counts.max() >= 401
