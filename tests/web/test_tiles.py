"""Attacks on tiles that must fail: no blur, no client-side recovery beats the floor."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter
from tile_measure import detailed_picture, equivalent_side, measure, psnr, reference

from vigil.web import imaging


def _public_pictures(shared: Path) -> list[bytes]:
    folder = shared / "reference" / "pdq" / "data" / "reg-test-input"
    paths = sorted((folder / "labelme-subset").glob("*.jpg")) + [
        folder / "dih" / "bridge-1-original.jpg"
    ]
    assert len(paths) >= 4, f"public test pictures missing under {folder}"
    return [p.read_bytes() for p in paths]


def test_no_blur_value_goes_below_the_floor() -> None:
    data = detailed_picture(1)
    assert imaging.clamp_blur(-5) == imaging.clamp_blur(0) == imaging.MIN_BLUR
    assert imaging.blurred_tile(data, -100) == imaging.blurred_tile(data, imaging.MIN_BLUR)
    tile = Image.open(io.BytesIO(imaging.blurred_tile(data, 0)))
    assert (tile.mode, tile.size) == ("L", (480, 360))
    small = imaging.floor_picture(data)
    assert (small.mode, small.size) == ("L", (imaging.FLOOR_SIDE, 30))


def test_the_sharpest_tile_is_the_floor_picture_enlarged_and_blurred() -> None:
    # Everything the tile holds comes from the 40 px picture: re-rendering that picture
    # alone gives the same tile, byte for byte.
    data = detailed_picture(2)
    small = imaging.floor_picture(data)
    out = io.BytesIO()
    small.save(out, "PNG")
    assert imaging.blurred_tile(out.getvalue(), imaging.MIN_BLUR) == imaging.blurred_tile(
        data, imaging.MIN_BLUR
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_deconvolution_recovers_no_more_than_48_px_on_drawn_pictures(seed: int) -> None:
    sizes, tried = measure(detailed_picture(seed))
    assert set(tried) == {"tile", "wiener", "wiener+unsharp", "unsharp"}
    assert max(tried.values()) <= sizes[48]
    assert equivalent_side(sizes, max(tried.values())) <= 48


def test_deconvolution_recovers_no_more_than_48_px_on_public_pictures(shared: Path) -> None:
    for data in _public_pictures(shared):
        sizes, tried = measure(data)
        assert max(tried.values()) <= sizes[48], (sizes, tried)


def test_the_old_480_px_tile_at_blur_4_carried_more_than_the_floor(shared: Path) -> None:
    # The comparison that shows the measure can tell: the renderer before the floor
    # (480 px, Gaussian blur 4) scores above a 48 px picture; the floor tile scores below.
    data = _public_pictures(shared)[-1]
    size = Image.open(io.BytesIO(imaging.blurred_tile(data))).size
    assert size == (480, 300)
    full = reference(data, size)
    sizes, tried = measure(data)
    old = np.asarray(Image.fromarray(full).filter(ImageFilter.GaussianBlur(4)))
    assert psnr(full, old) > sizes[48] > max(tried.values())
    assert round(equivalent_side(sizes, psnr(full, old))) == 57
