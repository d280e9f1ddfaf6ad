"""Benign evidence for the series tests: generated landscapes with planted EXIF
(camera and lens serials, capture times, GPS positions), shared by the series, report
and review-app tests."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from vigil.demo import draw_landscape


def camera_exif(
    serial: str | None = "BODY-1",
    lens_serial: str | None = "LENS-9",
    taken: str | None = "2024:02:29 23:59:58",
    gps: tuple[float, float] | None = (-33.85, 151.2),
) -> Image.Exif:
    """EXIF with make, model, serials, date taken and a GPS position (decimal degrees)."""
    exif = Image.Exif()
    exif[0x010F] = "DemoCam"
    exif[0x0110] = "Model 7"
    sub = exif.get_ifd(0x8769)
    if taken:
        sub[0x9003] = taken
    if serial:
        sub[0xA431] = serial
    if lens_serial:
        sub[0xA433] = "LensMaker"
        sub[0xA434] = "Prime 35"
        sub[0xA435] = lens_serial
    if gps:
        lat, lon = gps
        g = exif.get_ifd(0x8825)
        g[1], g[2] = ("N" if lat >= 0 else "S"), _dms(abs(lat))
        g[3], g[4] = ("E" if lon >= 0 else "W"), _dms(abs(lon))
    return exif


def _dms(value: float) -> tuple[float, float, float]:
    d = int(value)
    m = int((value - d) * 60)
    s = round((value - d - m / 60) * 3600, 4)
    return (float(d), float(m), s)


# (path, landscape seed, body serial, lens serial, taken, GPS); camera A is
# DemoCam Model 7, camera B OtherCam X2.
PLANTED: tuple[tuple[str, int, str | None, str | None, str | None, tuple | None], ...] = (
    ("cam1/a1.jpg", 11, "SN-A", "L-1", "2024:05:01 10:00:00", (51.5, -0.125)),
    ("cam1/a2.jpg", 12, "SN-A", "L-1", "2024:05:01 10:00:04", (51.5004, -0.125)),
    ("cam1/a3.jpg", 13, "SN-A", None, "2024:05:01 10:00:09", None),
    ("cam1/a4.jpg", 14, "SN-A", None, "2024:05:01 10:05:00", (48.85, 2.35)),
    ("cam1/known.jpg", 15, "SN-A", None, "2024:05:01 10:00:06", (51.5, -0.125)),
    ("cam2/b1.jpg", 21, "SN-B", "L-1", "2024:05:01 10:00:01", (51.5, -0.1255)),
    ("cam2/b2.jpg", 22, "SN-B", None, "2024:05:01 10:00:03", None),
    ("loose/c1.jpg", 31, None, None, None, None),
    ("near/orig.jpg", 41, None, None, None, None),
)
NEAR_COPY = "loose/orig_small.jpg"
KNOWN = "cam1/known.jpg"


def _jpeg(img: Image.Image, exif: Image.Exif | None = None) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90, **({"exif": exif} if exif is not None else {}))
    return out.getvalue()


def write_series_evidence(folder: Path) -> None:
    """Write the ``PLANTED`` pictures and a resized copy of ``near/orig.jpg``."""
    for path, seed, serial, lens, taken, gps in PLANTED:
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        exif = None
        if serial or taken or gps:
            exif = camera_exif(serial, lens, taken, gps)
            if serial == "SN-B":
                exif[0x010F], exif[0x0110] = "OtherCam", "X2"
        target.write_bytes(_jpeg(draw_landscape(seed, (320, 240)), exif))
    copy = draw_landscape(41, (320, 240)).resize((256, 192))
    (folder / NEAR_COPY).write_bytes(_jpeg(copy))
