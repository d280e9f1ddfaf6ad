"""Cropped-copy query variants: a copy cropped by 5-10% matches its original."""

from __future__ import annotations

import io

import numpy as np
import pytest

from tests_support import load_benchmark
from vigil.hashing import pdq
from vigil.hashing.pdq_uncrops import SHARES, SPLITS, uncrop_variants
from vigil.model import Hashes, Item
from vigil.pipeline.perceptual import perceptual_analysers

corpus, edits = load_benchmark("corpus"), load_benchmark("edits")


def test_variant_names():
    grey = np.asarray(corpus.photo(1, 320, 240).convert("L"), dtype=np.float32)
    names = sorted(uncrop_variants(grey))
    assert len(names) == len(SHARES) * len(SPLITS) ** 2 == 18
    assert names[:3] == ["uncrop10-y25x25", "uncrop10-y25x50", "uncrop10-y25x75"]
    plain = pdq.pdq_for_file(corpus.jpeg_bytes(corpus.photo(1, 320, 240)), uncrops=False)
    assert not any(name.startswith("uncrop") for name in plain.variants)


def test_default_level_is_the_diagonal_six_with_the_same_hashes():
    grey = np.asarray(corpus.photo(1, 320, 240).convert("L"), dtype=np.float32)
    every = uncrop_variants(grey)
    default = uncrop_variants(grey, level="default")
    assert sorted(default) == [f"uncrop{c}-y{s}x{s}" for c in (10, 5) for s in (25, 50, 75)]
    assert default == {name: every[name] for name in default}
    assert uncrop_variants(grey, level="none") == {}


@pytest.mark.parametrize(("full", "count"), [(False, 6), (True, 18)])
def test_scan_queries_the_default_six_unless_asked_for_all(full, count):
    data = corpus.jpeg_bytes(corpus.photo(3, 640, 480))
    analyse = perceptual_analysers(pdq_uncrops=full)["image"]
    item = Item(path="photo.jpg", open=lambda: io.BytesIO(data), size=len(data))
    hashes, errors = analyse(item, Hashes(len(data), "", "", "", "image/jpeg", "image"))
    assert errors == []
    assert sum(name.startswith("uncrop") for name in hashes.pdq_variants) == count


@pytest.mark.parametrize("seed", [41, 42, 43])
@pytest.mark.parametrize("edit", ["crop5", "crop10"])
def test_cropped_copy_matches_through_its_uncrop_variant(seed, edit):
    photo = corpus.photo(seed, 800, 600)
    original = pdq.pdq_for_file(corpus.jpeg_bytes(photo, 92), "reference").hash
    cropped = pdq.pdq_for_file(edits.EDITS[edit](photo))
    assert pdq.hamming(cropped.hash, original) > 31
    others = {k: v for k, v in cropped.variants.items() if not k.startswith("uncrop")}
    assert min(pdq.hamming(v, original) for v in others.values()) > 31
    # The edit cuts a quarter of the crop at the top and the left.
    right = pdq.hamming(cropped.variants[f"uncrop{edit[4:]}-y25x25"], original)
    assert right <= 31
    # No wrong guess of the frame comes closer than the right one.
    uncrops = [v for k, v in cropped.variants.items() if k.startswith("uncrop")]
    assert min(pdq.hamming(v, original) for v in uncrops) == right


def test_uncrop_variants_of_a_different_picture_stay_far():
    photo = corpus.photo(44, 800, 600)
    original = pdq.pdq_for_file(corpus.jpeg_bytes(photo, 92), "reference").hash
    for seed in range(45, 50):
        other = pdq.pdq_for_file(corpus.jpeg_bytes(corpus.photo(seed, 800, 600)))
        uncrops = [v for k, v in other.variants.items() if k.startswith("uncrop")]
        assert min(pdq.hamming(v, original) for v in uncrops) > 31
