"""Pictures embedded in PDF files: image XObjects stored as JPEG (DCTDecode) or JPEG 2000
(JPXDecode) are the original file bytes, kept byte-exact so their hashes match the
original picture. Images re-encoded as raw pixels (Flate) are not pictures files and
are not yielded.

A minimal parser of our own: objects are found by ``N G obj``, the stream length from
``/Length`` (direct or indirect), with ``endstream`` as the fallback. Encrypted PDFs are
reported, not decrypted. Every search is linear in the file: the object pattern only
starts at the first digit of a run and its quantifiers never backtrack, and each
search after an object is bounded (a run of 100,000 digits costs microseconds, not
minutes).
"""

from __future__ import annotations

import bisect
import io
import re
from collections.abc import Iterator
from typing import BinaryIO

from vigil.model import Item, ScanError
from vigil.sources.expand import Budget, Member, read_whole, register

STAGE = "expand.pdf"
_OBJ = re.compile(rb"(?<![0-9])([0-9]++)\s++([0-9]++)\s++obj\b")
_STREAM = re.compile(rb"stream(?:\r\n|\n|\r)")
_LENGTH = re.compile(rb"/Length\s+(\d+)(?:\s+(\d+)\s+R)?")
_FILTER = re.compile(rb"/Filter\s*(\[[^\]]*\]|/\w+)")
_IMAGE = re.compile(rb"/Subtype\s*/Image\b")
_PICTURE_FILTERS = {b"/DCTDecode": "jpeg", b"/DCT": "jpeg", b"/JPXDecode": "jp2"}


def expand_pdf(item: Item, stream: BinaryIO, budget: Budget) -> Iterator[Member | ScanError]:
    """Yield each JPEG/JPEG 2000 image stream of a PDF as an embedded member.

    Args:
        item: The PDF item.
        stream: Its bytes (parsed in memory).
        budget: The top-level item's budget.

    Returns:
        An iterator of ``Member``s (``parent@<offset of the stream data>``,
        ``embedded``) and ``ScanError``s.
    """
    data = read_whole(item, stream, STAGE)
    if isinstance(data, ScanError):
        yield data
        return
    if re.search(rb"/Encrypt\s+\d+\s+\d+\s+R", data):
        yield ScanError(item.path, STAGE, "encrypted: image streams cannot be read")
        return
    found = list(_OBJ.finditer(data))
    objects = {(m.group(1), m.group(2)): m.end() for m in found}
    ends = [m.start() for m in re.finditer(rb"endstream", data)]
    for i, match in enumerate(found):
        limit = found[i + 1].start() if i + 1 < len(found) else len(data)
        image = _image_stream(data, match.end(), min(limit, match.end() + 65536), objects, ends)
        if image is None:
            continue
        if isinstance(image, str):
            yield ScanError(f"{item.path}@{match.start()}", STAGE, image)
            continue
        start, length = image
        yield Member(
            name="",
            stream=io.BytesIO(data[start : start + length]),
            size=length,
            offset=start,
            embedded=True,
            in_archive=False,
        )


def _image_stream(
    data: bytes, pos: int, limit: int, objects: dict[tuple[bytes, bytes], int], ends: list[int]
) -> tuple[int, int] | str | None:
    """``(start, length)`` of an image's picture file, a reason it has none, or None."""
    stream_kw = _STREAM.search(data, pos, limit)
    if stream_kw is None or data.find(b"endobj", pos, stream_kw.start()) != -1:
        if _IMAGE.search(data, pos, limit if stream_kw is None else stream_kw.start()):
            return "image object without a stream (truncated or damaged): not extracted"
        return None
    header = data[pos : stream_kw.start()]
    if not _IMAGE.search(header):
        return None
    filt = _FILTER.search(header)
    names = re.findall(rb"/\w+", filt.group(1)) if filt else []
    if len(names) != 1 or names[0] not in _PICTURE_FILTERS:
        shown = " ".join(n.decode("latin-1") for n in names) or "none"
        return f"image stored as pixels (filter {shown}), not as a picture file: not extracted"
    start = stream_kw.end()
    length = _length(data, header, objects)
    if length is None or not data[start + length : start + length + 12].lstrip().startswith(
        b"endstream"
    ):
        i = bisect.bisect_left(ends, start)
        if i == len(ends):
            return None
        end = ends[i]
        length = len(data[start:end].rstrip(b"\r\n"))
    return start, length


def _length(data: bytes, header: bytes, objects: dict[tuple[bytes, bytes], int]) -> int | None:
    match = _LENGTH.search(header)
    if match is None:
        return None
    if match.group(2) is None:
        return int(match.group(1))
    where = objects.get((match.group(1), match.group(2)))
    if where is None:
        return None
    value = re.match(rb"\s*(\d+)", data[where : where + 64])
    return int(value.group(1)) if value else None


register(("application/pdf",), expand_pdf)
