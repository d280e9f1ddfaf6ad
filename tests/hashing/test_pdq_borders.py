"""Letterbox trimming: bars next to dark picture edges are found, a picture's own flat
or dark bands are not taken for bars (generated benign pictures, as a scan decodes them)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

from tests_support import load_benchmark
from vigil.demo import draw_landscape
from vigil.hashing import pdq
from vigil.hashing.decode import decode
from vigil.hashing.pdq_borders import find_borders

borders = load_benchmark("borders")


def _grey(image: Image.Image) -> np.ndarray:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return decode(buffer.getvalue()).pixels.astype(np.float32) @ np.float32([0.299, 0.587, 0.114])


def test_black_bars_next_to_a_dark_picture_edge_are_trimmed_at_the_bar():
    night = borders.night(borders.corpus.photo(21, 640, 480), 21)  # edges at luma 9-31
    padded, box = borders.pad(night, "black")
    assert box == (0, 480, 106, 746)
    assert find_borders(_grey(padded)) == box


def test_a_dark_band_of_the_picture_itself_stays_inside_the_bars():
    photo = borders.corpus.photo(22, 640, 480)
    ImageDraw.Draw(photo).rectangle((0, 0, 40, 480), fill=(12, 12, 14))  # its own dark band
    banded = borders._noise(photo, 22, 3.0)
    padded, box = borders.pad(banded, "black")
    assert find_borders(_grey(padded)) == box
    # Alone, without bars, the band is not trimmed: a band on one side is not a pair.
    assert find_borders(_grey(banded)) is None


def test_flat_sky_and_flat_hillside_of_a_drawn_landscape_are_not_bars():
    # Rows of the drawn sky are flat, and so is the lowest hill: neither is a bar.
    for seed in range(6000, 6012):
        assert find_borders(_grey(draw_landscape(seed, (600, 600)))) is None, seed


def test_phone_screenshot_with_a_status_bar_is_trimmed():
    photo = borders.corpus.photo(23, 720, 540)
    screen, box = borders.pad(photo, "screen")
    assert box == (510, 1050, 0, 720)
    assert find_borders(_grey(screen)) == (510, 1050, 0, 720)
    plain = pdq.pdq_for_file(borders.corpus.jpeg_bytes(photo))
    buffer = io.BytesIO()
    screen.save(buffer, "PNG")
    shot = pdq.pdq_for_file(buffer.getvalue())
    assert pdq.hamming(shot.hash, plain.hash) > 31
    assert pdq.hamming(shot.variants["trimmed"], plain.hash) <= 10


def test_generated_set_has_no_false_trim_and_one_known_miss():
    # 40 borderless pictures (photos, drawn landscapes, night, vignetted, banded) and the
    # same 40 padded (black bars, white padding, a dark phone screen), as the benchmark.
    result = borders.measure(8)
    assert result["false"] == []
    # A night picture whose top rows are the screen's own dark grey: no edge to find.
    assert result["missed"] == [("night-6-screen", None, (453, 933, 0, 640))]
