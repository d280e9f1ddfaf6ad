"""Small-rotation query variants: a copy tilted by a few degrees matches its original."""

from __future__ import annotations

import numpy as np
import pytest

from tests_support import load_benchmark
from vigil.hashing import pdq
from vigil.hashing.pdq_tilts import ANGLES, fill, tilt_variants

corpus, edits = load_benchmark("corpus"), load_benchmark("edits")
NAMES = ["tilt-6", "tilt-4", "tilt-2", "tilt+2", "tilt+4", "tilt+6"]


def test_variant_names_and_angles():
    assert ANGLES == (-6.0, -4.0, -2.0, 2.0, 4.0, 6.0)
    grey = np.asarray(corpus.photo(1, 320, 240).convert("L"), dtype=np.float32)
    assert sorted(tilt_variants(grey)) == sorted(NAMES)
    result = pdq.pdq_for_file(corpus.jpeg_bytes(corpus.photo(1, 320, 240)))
    assert set(NAMES) <= set(result.variants)
    plain = pdq.pdq_for_file(corpus.jpeg_bytes(corpus.photo(1, 320, 240)), tilts=False)
    assert not any(name.startswith("tilt") for name in plain.variants)
    assert plain.hash == result.hash


@pytest.mark.parametrize("seed", [31, 32, 33, 34])
@pytest.mark.parametrize("edit", ["rotate3", "rotate5"])
def test_tilted_copy_matches_through_a_tilt_variant(seed, edit):
    photo = corpus.photo(seed, 800, 600)
    original = pdq.pdq_for_file(corpus.jpeg_bytes(photo, 92), "reference").hash
    tilted = pdq.pdq_for_file(edits.EDITS[edit](photo))
    assert pdq.hamming(tilted.hash, original) > 31
    others = {k: v for k, v in tilted.variants.items() if not k.startswith("tilt")}
    assert min(pdq.hamming(v, original) for v in others.values()) > 31
    best = min(pdq.hamming(tilted.variants[name], original) for name in NAMES)
    assert best <= 26


def test_fill_continues_the_picture_into_the_holes():
    valid = np.ones((64, 96), dtype=bool)
    valid[:10, :20] = False
    valid[50:, 80:] = False
    flat = fill(np.full((64, 96), 77.0), valid)
    assert np.array_equal(flat, np.full((64, 96), 77.0, dtype=np.float32))
    ramp = np.tile(np.arange(96, dtype=np.float32), (64, 1))
    filled = fill(np.where(valid, ramp, 0.0), valid)
    assert np.array_equal(filled[valid], ramp[valid])
    # The holes take values of the picture around them, not black.
    assert filled[:10, :20].min() > 0 and filled[:10, :20].max() < 30
    assert filled[50:, 80:].min() > 70 and filled[50:, 80:].max() < 96
