"""Camera facts from a picture's EXIF: make, model, serials, date taken, GPS position.

Read from the ``Image`` the decoder has already opened (``facts_of``), so a scan pays
only for parsing the EXIF and GPS directories, or from bytes (``exif_facts``) for the
review app. Nothing here raises: a missing or corrupt EXIF block gives empty facts.
"""

from __future__ import annotations

import io
import warnings
from typing import Any

from PIL import Image

from vigil.model import ExifFacts

_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_MAKE, _MODEL, _DATETIME = 0x010F, 0x0110, 0x0132
_DATE_TAKEN, _BODY_SERIAL = 0x9003, 0xA431
_LENS_MAKE, _LENS_MODEL, _LENS_SERIAL = 0xA433, 0xA434, 0xA435
# Text facts are cut to this many characters (a hostile file may carry megabytes).
MAX_TEXT = 200


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value).strip("\x00 ").strip()
    return text[:MAX_TEXT] or None


def _degrees(dms: Any, ref: Any) -> float | None:
    try:
        d, m, s = (float(x) for x in dms)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    value = d + m / 60 + s / 3600
    # NaN (a 0/0 rational) fails this test too.
    if not 0 <= value <= 180:
        return None
    return round(-value if _text(ref) in ("S", "W") else value, 6)


def facts_of(image: Image.Image) -> ExifFacts | None:
    """The camera facts of an opened picture, or None when it has none.

    Args:
        image: A picture opened by Pillow (its pixels need not be loaded).

    Returns:
        The facts, or None when the picture has no EXIF or none of these tags.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exif = image.getexif()
            if not exif:
                return None
            sub = exif.get_ifd(_EXIF_IFD)
            gps = exif.get_ifd(_GPS_IFD)
    except Exception:  # noqa: BLE001 - a corrupt EXIF block must not lose the picture
        return None
    lat = _degrees(gps.get(2), gps.get(1)) if gps.get(2) else None
    lon = _degrees(gps.get(4), gps.get(3)) if gps.get(4) else None
    if lat is not None and lat > 90:
        lat = None
    facts = ExifFacts(
        make=_text(exif.get(_MAKE)),
        model=_text(exif.get(_MODEL)),
        serial=_text(sub.get(_BODY_SERIAL)),
        date_taken=_text(sub.get(_DATE_TAKEN)) or _text(exif.get(_DATETIME)),
        latitude=lat if lon is not None else None,
        longitude=lon if lat is not None else None,
        lens_make=_text(sub.get(_LENS_MAKE)),
        lens_model=_text(sub.get(_LENS_MODEL)),
        lens_serial=_text(sub.get(_LENS_SERIAL)),
    )
    return facts if facts else None


def exif_facts(data: bytes) -> ExifFacts:
    """Read the camera facts of a picture's bytes.

    Args:
        data: The picture's bytes.

    Returns:
        The facts found; all None when the picture has no EXIF or cannot be read.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - no EXIF is a normal answer
        return ExifFacts()
    with image:
        return facts_of(image) or ExifFacts()


def taken_iso(date_taken: str | None) -> str | None:
    """EXIF date text (``2023:06:01 12:34:56``) as ``2023-06-01T12:34:56``, or None.

    The camera's clock has no time zone: the value is kept as local camera time.
    """
    if not date_taken or len(date_taken) < 19:
        return None
    text = date_taken[:19]
    date, time = text[:10].replace(":", "-"), text[11:]
    candidate = f"{date}T{time}"
    digits = candidate[0:4] + candidate[5:7] + candidate[8:10] + time.replace(":", "")
    if not digits.isdigit() or candidate[4] != "-" or candidate[7] != "-" or len(digits) != 14:
        return None
    if candidate.startswith("0000"):
        return None
    return candidate
