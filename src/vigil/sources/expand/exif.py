"""Pictures stored inside a JPEG: EXIF and maker-note thumbnails and previews, and
pictures after the end of the main image (MPF secondary images, appended files).

The JPEG itself is hashed and PDQ'd as a picture like any other; this expander adds
each picture stored inside it as a separate item. The segments before the first scan
are walked; every APP1 (EXIF) and APP2 (MPF) segment is carved for whole JPEGs with
the structure walk of ``sources/carve.py``. The one the EXIF ``IFD1`` points to
(``JPEGInterchangeFormat``, tag 513) is the EXIF thumbnail:
``photo.jpg!exif-thumbnail@1320`` (the offset of the thumbnail in the file); any other
in those segments is a maker-note preview: ``photo.jpg!exif-preview@20480``. After the
main image's end of image, the rest of the file is carved too: ``photo.jpg!after-end@N``.

Used for a JPEG whose head shows an EXIF or MPF segment (``enabled``), so a plain JPEG
is not a container.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator

from vigil.model import Item, ScanError
from vigil.sources.carve import carve
from vigil.sources.expand import Limits, Member, embedded, register
from vigil.sources.expand.whole import in_memory
from vigil.sources.sniff import jpeg_segments

STAGE = "expand.exif"
_EXIF = b"Exif\x00\x00"
_MPF = b"MPF\x00"
_APP1, _APP2 = 0xE1, 0xE2
_IFD1_JPEG = 513


@in_memory(STAGE)
def expand_jpeg(item: Item, data: bytes) -> Iterator[Member | ScanError]:
    """Yield the thumbnails, previews and appended pictures stored inside a JPEG."""
    # A damaged JPEG is recorded by its decode; here it only has fewer segments.
    segments = _segments(data)
    stream = io.BytesIO(data)
    for start, length, payload_kind in segments:
        thumbnail = _ifd1_thumbnail(data, start) if payload_kind == _APP1 else None
        for offset, size, _kind in carve(stream, start, length):
            name = "exif-thumbnail" if offset == thumbnail else "exif-preview"
            yield embedded(data[offset : offset + size], offset, name)
    main = next(carve(stream, 0, len(data)), None)
    if main is not None and main[0] == 0 and main[1] < len(data):
        for offset, size, _kind in carve(stream, main[1], len(data) - main[1]):
            yield embedded(data[offset : offset + size], offset, "after-end")


def _segments(data: bytes) -> list[tuple[int, int, int]]:
    """``(payload start, payload length, marker)`` of the EXIF/MPF segments before the
    first scan (as far as the marker segments can be walked)."""
    found: list[tuple[int, int, int]] = []
    for marker, pos, length in jpeg_segments(data):
        start = pos + 4
        payload = data[start : start + 6]
        if (marker == _APP1 and payload.startswith(_EXIF)) or (
            marker == _APP2 and payload.startswith(_MPF)
        ):
            found.append((start, min(length - 2, len(data) - start), marker))
    return found


def _ifd1_thumbnail(data: bytes, start: int) -> int | None:
    """Offset in the file of the thumbnail EXIF ``IFD1`` points to, or None."""
    tiff = start + len(_EXIF)
    order = {b"II": "<", b"MM": ">"}.get(data[tiff : tiff + 2])
    if order is None:
        return None
    try:
        ifd0 = tiff + struct.unpack_from(order + "I", data, tiff + 4)[0]
        count = struct.unpack_from(order + "H", data, ifd0)[0]
        ifd1 = struct.unpack_from(order + "I", data, ifd0 + 2 + 12 * count)[0]
        if ifd1 == 0:
            return None
        entries = tiff + ifd1
        for index in range(struct.unpack_from(order + "H", data, entries)[0]):
            tag, _type, _n, value = struct.unpack_from(order + "HHII", data,
                                                       entries + 2 + 12 * index)
            if tag == _IFD1_JPEG:
                return tiff + value
    except struct.error:
        return None
    return None


def _shows_segments(_limits: Limits, head: bytes | None) -> bool:
    """Whether a JPEG's head has an EXIF or MPF segment (None: not read, assume so)."""
    return head is None or bool(_segments(head))


register(("image/jpeg",), expand_jpeg, enabled=_shows_segments)
