"""Camera facts are read from EXIF by the decoder the scan already runs."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from series_support import camera_exif
from vigil.hashing.decode import decode
from vigil.hashing.exif import exif_facts, taken_iso
from vigil.model import ExifFacts


def _picture(fmt: str, exif: Image.Exif | None) -> bytes:
    rng = np.random.default_rng(5)
    img = Image.fromarray(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8))
    out = io.BytesIO()
    img.save(out, fmt, **({"exif": exif} if exif is not None else {}))
    return out.getvalue()


EXPECTED = ExifFacts(
    make="DemoCam",
    model="Model 7",
    serial="BODY-1",
    date_taken="2024:02:29 23:59:58",
    latitude=-33.85,
    longitude=151.2,
    lens_make="LensMaker",
    lens_model="Prime 35",
    lens_serial="LENS-9",
)


def test_decode_reads_serials_date_and_gps_from_jpeg_and_png() -> None:
    for fmt in ("JPEG", "PNG"):
        data = _picture(fmt, camera_exif())
        assert decode(data, min_side=64).exif == EXPECTED, fmt
        assert decode(data).exif == EXPECTED, fmt
        assert exif_facts(data) == EXPECTED


def test_no_exif_is_none_and_bad_exif_never_loses_the_picture() -> None:
    plain = decode(_picture("JPEG", None), min_side=64)
    assert plain.exif is None and plain.pixels is not None
    data = bytearray(_picture("JPEG", camera_exif()))
    start = data.index(b"Exif\x00\x00") + 6
    data[start : start + 40] = b"\xff" * 40  # the TIFF header and first directory
    broken = decode(bytes(data), min_side=64)
    assert broken.pixels is not None and broken.error is None
    assert broken.exif is None
    assert exif_facts(b"not a picture") == ExifFacts()


def test_taken_iso() -> None:
    assert taken_iso("2024:02:29 23:59:58") == "2024-02-29T23:59:58"
    assert taken_iso("2024:02:29 23:59:58+01:00") == "2024-02-29T23:59:58"
    assert taken_iso("0000:00:00 00:00:00") is None
    assert taken_iso("    :  :     :  :  ") is None
    assert taken_iso("yesterday") is None
    assert taken_iso(None) is None
