"""Chrome/Chromium/Edge "Simple Cache" entries (``Cache_Data/<hash>_0``): the cached body.

An entry file holds a 24-byte header (magic ``0xfcfb6d1ba7725c30``, version, key
length, key hash), the key (the URL, after Chrome's partition prefix), the body as
the server sent it (stream 1), an end record, the HTTP headers (stream 0), an
optional SHA-256 of the key and a last end record giving the size of stream 0. The
body is the member, named by its URL: ``Cache_Data/1f2e_0!https://example.org/a.jpg``.
A body the server compressed (gzip) is walked like any gzip stream. An entry whose
records do not add up gets a record.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator

from vigil.model import Item, ScanError
from vigil.sources.expand import Member, register
from vigil.sources.expand.whole import in_memory

STAGE = "expand.chrome_cache"
MIME = "application/x-chrome-simple-cache"
MAGIC = struct.pack("<Q", 0xFCFB6D1BA7725C30)
_END_MAGIC = struct.pack("<Q", 0xF4FA6F45970D41D8)
_HEADER = 24
_EOF = 24
_HAS_KEY_SHA256 = 2


@in_memory(STAGE)
def expand_simple_cache(item: Item, data: bytes) -> Iterator[Member | ScanError]:
    """Yield the cached body of a Simple Cache entry file."""
    problem = _body(data)
    if isinstance(problem, str):
        yield ScanError(item.path, STAGE, problem)
        return
    key, start, end = problem
    url = key.rsplit(" ", 1)[-1] or "body"
    body = data[start:end]
    yield Member(name=url, stream=io.BytesIO(body), size=len(body), embedded=True,
                 in_archive=False)


def _body(data: bytes) -> tuple[str, int, int] | str:
    """(key, start, end) of stream 1, or why the entry cannot be read."""
    if len(data) < _HEADER + 2 * _EOF or not data.startswith(MAGIC):
        return "not a Simple Cache entry (too short or no magic)"
    version, key_length = struct.unpack_from("<II", data, 8)
    if data[-_EOF : -_EOF + 8] != _END_MAGIC:
        return f"damaged entry (version {version}): no end record at its end (cut short?)"
    flags, _crc, stream0 = struct.unpack_from("<III", data, len(data) - _EOF + 8)
    end = len(data) - _EOF - stream0 - (32 if flags & _HAS_KEY_SHA256 else 0) - _EOF
    start = _HEADER + key_length
    if end < start or data[end : end + 8] != _END_MAGIC:
        return f"damaged entry (version {version}): the body's end record is not where the " \
               "headers' size puts it"
    return data[_HEADER:start].decode("utf-8", "replace"), start, end


register((MIME,), expand_simple_cache)
