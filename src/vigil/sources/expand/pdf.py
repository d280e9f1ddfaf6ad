"""Pictures embedded in PDF files: image XObjects stored as JPEG (DCTDecode) or JPEG 2000
(JPXDecode) are the original file bytes, kept byte-exact so their hashes match the
original picture. Images re-encoded as raw pixels (Flate) are not pictures files and
are not yielded.

A minimal parser of our own: objects are found by ``N G obj``, the stream length from
``/Length`` (direct or indirect), with ``endstream`` as the fallback. Encrypted PDFs are
reported, not decrypted.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from typing import BinaryIO

from vigil.model import Item, ScanError
from vigil.sources.expand import Limits, register
from vigil.sources.expand.members import Budget, child

STAGE = "expand.pdf"
_OBJ = re.compile(rb"(\d+)\s+(\d+)\s+obj\b")
_STREAM = re.compile(rb"stream(?:\r\n|\n|\r)")
_LENGTH = re.compile(rb"/Length\s+(\d+)(?:\s+(\d+)\s+R)?")
_FILTER = re.compile(rb"/Filter\s*(\[[^\]]*\]|/\w+)")
_IMAGE = re.compile(rb"/Subtype\s*/Image\b")
_PICTURE_FILTERS = {b"/DCTDecode": "jpeg", b"/DCT": "jpeg", b"/JPXDecode": "jp2"}


def expand_pdf(item: Item, limits: Limits) -> Iterator[Item | ScanError]:
    """Yield each JPEG/JPEG 2000 image stream of a PDF as an embedded child item.

    Args:
        item: The PDF item.
        limits: Bomb guards (the PDF is read whole, up to ``max_member_bytes``).

    Returns:
        An iterator of child ``Item``s (``path = parent@<offset of the stream data>``,
        ``embedded=True``) and ``ScanError``s.
    """
    budget = Budget(item, limits, STAGE)
    if (error := budget.depth_error()) is not None:
        yield error
        return
    try:
        with item.open() as stream:
            data = stream.read(limits.max_member_bytes + 1)
    except OSError as exc:
        yield ScanError(item.path, STAGE, f"cannot read: {exc}")
        return
    if len(data) > limits.max_member_bytes:
        yield ScanError(item.path, STAGE, "member size limit: PDF larger than max_member_bytes")
        return
    if re.search(rb"/Encrypt\s+\d+\s+\d+\s+R", data):
        yield ScanError(item.path, STAGE, "encrypted: image streams cannot be read")
        return
    objects = {(m.group(1), m.group(2)): m.end() for m in _OBJ.finditer(data)}
    for match in _OBJ.finditer(data):
        found = _image_stream(data, match.end(), objects)
        if found is None:
            continue
        start, length = found
        if (error := budget.admit(f"@{start}", length, length)) is not None:
            yield error
            if budget.entry_limit_hit():
                return
            continue
        yield child(
            item,
            "",
            _opener(item, start, length),
            length,
            offset=start,
            embedded=True,
            in_archive=False,
        )


def _image_stream(
    data: bytes, pos: int, objects: dict[tuple[bytes, bytes], int]
) -> tuple[int, int] | None:
    stream_kw = _STREAM.search(data, pos, pos + 65536)
    next_obj = data.find(b"endobj", pos)
    if stream_kw is None or (next_obj != -1 and next_obj < stream_kw.start()):
        return None
    header = data[pos : stream_kw.start()]
    if not _IMAGE.search(header):
        return None
    filt = _FILTER.search(header)
    if filt is None:
        return None
    names = re.findall(rb"/\w+", filt.group(1))
    if len(names) != 1 or names[0] not in _PICTURE_FILTERS:
        return None
    start = stream_kw.end()
    length = _length(data, header, objects)
    if length is None or not data[start + length : start + length + 12].lstrip().startswith(
        b"endstream"
    ):
        end = data.find(b"endstream", start)
        if end == -1:
            return None
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


def _opener(item: Item, start: int, length: int) -> Callable[[], BinaryIO]:
    def open_() -> BinaryIO:
        with item.open() as stream:
            stream.seek(start)
            return io.BytesIO(stream.read(length))

    return open_


register(("application/pdf",), expand_pdf)
