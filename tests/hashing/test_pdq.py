"""PDQ: reference mode against the upstream expected values, fast mode against reference."""

from __future__ import annotations

import csv
import importlib.util
import io
from pathlib import Path

import numpy as np
import pdqhash
import pytest
from PIL import Image

from vigil.hashing import pdq, pdq_core
from vigil.hashing.decode import Decoded, decode

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / ".." / "shared" / "reference" / "pdq"
with (REFERENCE / "expected_pdq.csv").open(encoding="utf-8") as _handle:
    ROWS = list(csv.DictReader(_handle))
EXACT_ROWS = [row for row in ROWS if row["dist_pdqhash_fullres"] == "0"]
FILES = sorted({row["file"] for row in ROWS})
AAA_ORIG = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def load_corpus():
    spec = importlib.util.spec_from_file_location("bench_corpus", ROOT / "benchmarks" / "corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


corpus = load_corpus()


def pillow_reference(path: Path) -> tuple[str, int]:
    """The pytx pipeline written out: full-resolution Pillow RGB into pdqhash."""
    image = Image.open(path)
    if image.mode not in ("RGB", "RGBA", "L"):
        image = image.convert("RGB")
    array = np.asarray(image)
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    bits, quality = pdqhash.compute(array)
    return np.packbits(bits).tobytes().hex(), int(quality)


def test_reference_rows_are_present():
    assert len(EXACT_ROWS) == 27


@pytest.mark.parametrize(
    "row", EXACT_ROWS, ids=[f"{r['file']}:{r['source_id']}" for r in EXACT_ROWS]
)
def test_reference_mode_reproduces_upstream(row):
    result = pdq.pdq_for_file(REFERENCE / row["file"], "reference")
    assert result.error is None
    assert result.hash == row["expected_hash"]
    if row["expected_quality"]:
        assert result.quality == int(row["expected_quality"])


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def pytx_rgb(data: bytes) -> tuple[str, int]:
    """pytx's pipeline for any mode: Pillow's ``convert("RGB")``, then pdqhash."""
    array = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    bits, quality = pdqhash.compute(array)
    return np.packbits(bits).tobytes().hex(), int(quality)


def _modes() -> dict[str, tuple[str, bytes]]:
    """The reference photo saved in every mode Pillow opens: label to (mode, bytes)."""
    with Image.open(REFERENCE / "data/bridge-mods/aaa-orig.jpg") as opened:
        bridge = opened.convert("RGB")
    grey = np.asarray(bridge.convert("L"), dtype=np.uint16)
    palette = bridge.convert("P", palette=Image.Palette.ADAPTIVE)
    return {
        "grey16-full-range": ("I;16", _encode(Image.fromarray(grey * 257), "PNG")),
        "grey16-double": ("I;16", _encode(Image.fromarray(grey * 2), "PNG")),
        "palette-transparency": ("P", _encode(palette, "PNG", transparency=0)),
        "gif-transparency": ("P", _encode(palette, "GIF", transparency=0)),
        "cmyk-jpeg": ("CMYK", _encode(bridge.convert("CMYK"), "JPEG", quality=90)),
        "cmyk-tiff": ("CMYK", _encode(bridge.convert("CMYK"), "TIFF")),
        "bilevel": ("1", _encode(bridge.convert("1"), "PNG")),
        "int32": ("I", _encode(bridge.convert("I"), "TIFF")),
        "float": ("F", _encode(bridge.convert("F"), "TIFF")),
        "grey-alpha": ("LA", _encode(bridge.convert("LA"), "PNG")),
        "lab": ("LAB", _encode(bridge.convert("LAB"), "TIFF")),
        "ycbcr": ("YCbCr", _encode(bridge.convert("YCbCr"), "TIFF")),
        "rgba": ("RGBA", _encode(bridge.convert("RGBA"), "PNG")),
    }


MODES = _modes()


@pytest.mark.parametrize("label", sorted(MODES))
def test_reference_mode_equals_pytx_on_every_mode(label):
    mode, data = MODES[label]
    assert Image.open(io.BytesIO(data)).mode == mode
    result = pdq.pdq_for_file(data, "reference")
    assert (result.hash, result.quality) == pytx_rgb(data)


def test_sixteen_bit_grey_is_clipped_as_pillow_does_in_reference_mode():
    # Pillow's I;16 -> RGB clips at 255: a full-range 16-bit picture hashes almost white.
    full = pdq.pdq_for_file(MODES["grey16-full-range"][1], "reference")
    assert full.hash == "00001134000011342c4b00002c4b1134000000002c4b2c4b00002c4b8200554b"
    assert full.quality == 0
    double = pdq.pdq_for_file(MODES["grey16-double"][1], "reference")
    assert double.hash == "d8d6fcc4e4fee06d8236021f168f25f0b36e27c71662365391e6259c1fd49b22"
    assert double.quality == 100
    # The scan's fast mode keeps the high byte, so a 16-bit copy still looks like the photo.
    fast = pdq.pdq_for_file(MODES["grey16-full-range"][1], "fast")
    assert pdq.hamming(fast.hash, AAA_ORIG) <= 10


@pytest.mark.parametrize("name", FILES)
def test_numpy_core_matches_meta_core_at_full_resolution(name):
    expected_hash, expected_quality = pillow_reference(REFERENCE / name)
    rgb = decode(REFERENCE / name).pixels
    block, quality = pdq_core.hash_grey(pdq_core.luma(rgb))
    assert pdq_core.block_to_hex(block) == expected_hash
    assert quality == expected_quality


@pytest.mark.parametrize("name", FILES)
def test_fast_mode_within_10_bits_of_reference(name):
    reference = pdq.pdq_for_file(REFERENCE / name, "reference", variants=False)
    fast = pdq.pdq_for_file(REFERENCE / name, "fast", variants=False)
    assert fast.hash is not None and fast.quality is not None
    if reference.quality >= 80:
        assert pdq.hamming(reference.hash, fast.hash) <= 10
        assert abs(fast.quality - reference.quality) <= 5


def test_fast_mode_drift_on_generated_photos():
    distances = []
    for seed, (width, height) in enumerate(corpus.mixed_sizes(60, seed=7)):
        data = corpus.jpeg_bytes(corpus.photo(1000 + seed, width, height))
        reference = pdq.pdq_for_file(data, "reference", variants=False)
        fast = pdq.pdq_for_file(data, "fast", variants=False)
        assert reference.quality >= 80
        distances.append(pdq.hamming(reference.hash, fast.hash))
    assert max(distances) <= 10
    assert np.mean(distances) <= 4


def test_low_quality_is_returned_not_dropped():
    result = pdq.pdq_for_file(REFERENCE / "data/misc-images/small.jpg", "reference")
    assert result.quality == 0
    assert result.hash == "0007001f003f003f007f00ff00ff00ff01ff01ff01ff03ff03ff03ff03ff03ff"


def test_result_carries_size_and_all_dihedral_names():
    result = pdq.pdq_for_file(REFERENCE / "data/bridge-mods/aaa-orig.jpg")
    assert (result.width, result.height) == (1600, 1004)
    tilts = {"tilt-6", "tilt-4", "tilt-2", "tilt+2", "tilt+4", "tilt+6"}
    uncrops = {f"uncrop{c}-y{y}x{x}" for c in (5, 10) for y in (25, 50, 75) for x in (25, 50, 75)}
    assert set(result.variants) == set(pdq_core.DIHEDRAL_NAMES) | tilts | uncrops
    assert result.variants["orig"] == result.hash
    assert not result.partial and result.error is None


TRANSFORMS = {
    "rot90": lambda a: np.rot90(a, 1),
    "rot180": lambda a: np.rot90(a, 2),
    "rot270": lambda a: np.rot90(a, 3),
    "flipx": lambda a: a[::-1],
    "flipy": lambda a: a[:, ::-1],
    "flip_diag": lambda a: a.swapaxes(0, 1),
    "flip_antidiag": lambda a: np.rot90(a, 2).swapaxes(0, 1),
}


@pytest.mark.parametrize("mode", ["reference", "fast"])
@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_dihedral_variant_is_close_to_transformed_picture(mode, name):
    decoded = decode(
        REFERENCE / "data/bridge-mods/aaa-orig.jpg",
        min_side=pdq.FAST_MIN_SIDE if mode == "fast" else None,
    )
    derived = pdq.pdq_for_decoded(decoded, mode).variants[name]
    turned = np.ascontiguousarray(TRANSFORMS[name](decoded.pixels))
    real = pdq.pdq_for_decoded(Decoded(turned, scale=decoded.scale), mode, variants=False)
    assert pdq.hamming(derived, real.hash) <= 10
    assert pdq.hamming(derived, pdq.pdq_for_decoded(decoded, mode).hash) > 31


def test_dihedral_variant_finds_rotated_file():
    original = pdq.pdq_for_file(REFERENCE / "data/reg-test-input/dih/bridge-1-original.jpg")
    for name in ("bridge-2-rotate-90", "bridge-4-rotate-270", "bridge-5-flipx", "bridge-6-flipy"):
        turned = pdq.pdq_for_file(REFERENCE / f"data/reg-test-input/dih/{name}.jpg")
        assert pdq.hamming(turned.hash, original.hash) > 31
        assert min(pdq.hamming(v, original.hash) for v in turned.variants.values()) <= 10


@pytest.mark.parametrize("mode", ["reference", "fast"])
def test_letterboxed_copy_matches_through_trimmed_variant(mode):
    letterboxed = REFERENCE / "pytx/tests/hashing/resources/letterboxed_sample-b.jpg"
    result = pdq.pdq_for_file(letterboxed, mode)
    assert pdq.hamming(result.hash, AAA_ORIG) > 100
    assert pdq.hamming(result.variants["trimmed"], AAA_ORIG) <= (0 if mode == "reference" else 10)


def test_pillarbox_and_padding_are_trimmed():
    photo = corpus.photo(5, 640, 480)
    plain = pdq.pdq_for_file(corpus.jpeg_bytes(photo))
    assert "trimmed" not in plain.variants
    padded = Image.new("RGB", (1100, 560), (250, 250, 250))  # white screenshot padding
    padded.paste(photo, (230, 40))
    result = pdq.pdq_for_file(corpus.jpeg_bytes(padded))
    assert pdq.hamming(result.hash, plain.hash) > 31
    assert pdq.hamming(result.variants["trimmed"], plain.hash) <= 10


def test_uniform_picture_is_not_trimmed_to_nothing():
    flat = io.BytesIO()
    Image.new("RGB", (300, 200), (0, 0, 0)).save(flat, "PNG")
    result = pdq.pdq_for_file(flat.getvalue())
    assert "trimmed" not in result.variants
    assert result.quality == 0


def test_exif_rotated_jpeg_has_oriented_variant():
    upright = corpus.photo(11, 640, 480)
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # orientation 6 turns it back
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    stored.save(buffer, "JPEG", quality=90, exif=exif)
    upright_hash = pdq.pdq_for_file(corpus.jpeg_bytes(upright, quality=90)).hash
    result = pdq.pdq_for_file(buffer.getvalue())
    assert (result.width, result.height) == (480, 640)
    assert pdq.hamming(result.hash, upright_hash) > 31
    assert pdq.hamming(result.variants["oriented"], upright_hash) <= 10


def test_undecodable_input_is_an_error_result():
    result = pdq.pdq_for_file(b"not a picture at all")
    assert result.hash is None and result.quality is None
    assert result.error.startswith("not a decodable picture")


def test_hamming_and_normalize():
    assert pdq.hamming("0" * 64, "f" * 64) == 256
    assert pdq.hamming(AAA_ORIG, AAA_ORIG) == 0
    assert pdq.hamming("0" * 63 + "3", "0" * 64) == 2
    assert pdq.normalize_hash(" " + AAA_ORIG.upper() + "\n") == AAA_ORIG
    with pytest.raises(ValueError, match="'abc'"):
        pdq.normalize_hash("abc")


def test_hasher_values():
    values = pdq.PdqHasher().hash((REFERENCE / "data/bridge-mods/aaa-orig.jpg").read_bytes())
    assert values["pdq_quality"] == 100
    assert pdq.hamming(values["pdq"], AAA_ORIG) <= 10
    assert values["pdq_error"] is None and values["pdq_partial"] == 0
    assert (
        values["pdq_rot90"]
        == pdq.pdq_for_file(REFERENCE / "data/bridge-mods/aaa-orig.jpg").variants["rot90"]
    )
