"""Web archives in WARC format (``.warc``; a ``.warc.gz`` is un-gzipped first).

Each ``response`` record's HTTP body (de-chunked when it was sent chunked) and each
``resource`` record's block is a member named by its ``WARC-Target-URI``:
``crawl.warc!https://example.org/a.jpg``; a URI fetched twice gets ``[#2]`` with a
record. A body the server compressed (gzip) is walked in turn. Records are read one
after another by their ``Content-Length``; a record that runs past the end of the file
ends the walk with a record.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

from vigil.model import Item, ScanError
from vigil.sources.expand import Member, register
from vigil.sources.expand.whole import in_memory

STAGE = "expand.warc"
MIME = "application/warc"
_FIELD = re.compile(rb"([!-9;-~]+):[ \t]*([^\r\n]*)")


@in_memory(STAGE)
def expand_warc(item: Item, data: bytes) -> Iterator[Member | ScanError]:
    """Yield the body of every response and resource record of a WARC file."""
    pos = 0
    number = 0
    while pos < len(data):
        while data.startswith(b"\r\n", pos):
            pos += 2
        if pos >= len(data):
            break
        number += 1
        head_end = data.find(b"\r\n\r\n", pos)
        if not data.startswith(b"WARC/", pos) or head_end == -1:
            yield ScanError(f"{item.path}@{pos}", STAGE,
                            f"record {number}: no WARC header here; walk stopped")
            return
        fields = _fields(data[pos:head_end])
        length = int(fields.get(b"content-length", b"-1") or b"-1")
        start = head_end + 4
        if length < 0 or start + length > len(data):
            yield ScanError(f"{item.path}@{pos}", STAGE,
                            f"record {number} runs past the end of the file (cut short?)")
            return
        block = data[start : start + length]
        pos = start + length
        kind = fields.get(b"warc-type", b"")
        uri = fields.get(b"warc-target-uri", b"").decode("utf-8", "replace").strip("<>")
        if kind == b"response" and fields.get(b"content-type", b"").startswith(
            b"application/http"
        ):
            body = _http_body(block)
            if isinstance(body, str):
                yield ScanError(f"{item.path}!{uri}", STAGE, body)
                continue
        elif kind == b"resource":
            body = block
        else:
            continue
        yield Member(name=uri or f"record[{number}]", stream=io.BytesIO(body), size=len(body),
                     embedded=True, in_archive=False)


def _fields(head: bytes) -> dict[bytes, bytes]:
    return {m.group(1).lower(): m.group(2).strip() for m in _FIELD.finditer(head)}


def _http_body(block: bytes) -> bytes | str:
    """The body of an HTTP response as sent (chunked transfer coding undone)."""
    end = block.find(b"\r\n\r\n")
    if end == -1:
        return "HTTP response without the end of its headers"
    headers = _fields(block[:end])
    body = block[end + 4 :]
    if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
        return _dechunk(body)
    return body


def _dechunk(body: bytes) -> bytes | str:
    out = []
    pos = 0
    while True:
        line_end = body.find(b"\r\n", pos)
        if line_end == -1:
            return "chunked body cut short"
        try:
            size = int(body[pos:line_end].split(b";")[0], 16)
        except ValueError:
            return "chunked body damaged: bad chunk size"
        if size == 0:
            return b"".join(out)
        out.append(body[line_end + 2 : line_end + 2 + size])
        pos = line_end + 2 + size + 2


register((MIME,), expand_warc)
