"""Firefox ``cache2`` entries (``cache2/entries/<SHA-1 of the key>``): the cached body.

An entry file is the body as the server sent it, from offset 0, then the metadata, then
4 bytes (big-endian) giving where the metadata starts, i.e. the size of the body. The
metadata is a hash of itself (4 bytes), one 2-byte hash per 256 KiB chunk of the body,
a header of eight 32-bit big-endian fields (version, fetch count, last fetched, last
modified, frecency, expiration, key size, flags), the key and a NUL, then the response
elements (``name\\0value\\0`` pairs, the HTTP headers among them).

A cached picture's entry starts like the picture, so the signature alone calls it one;
``is_entry`` checks the layout at its end (``pipeline/analyse.py`` then types it as an
entry, ``other``), and the body is the member, named by its URL:
``cache2/entries/0A1B...!https://example.org/a.jpg``, byte-exact for hash-set matching.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterator
from typing import BinaryIO

from vigil.model import Item, ScanError
from vigil.sources.expand import Member, register
from vigil.sources.expand.whole import in_memory
from vigil.sources.sniff import Kind, sniff

STAGE = "expand.firefox_cache"
MIME = "application/x-firefox-cache2"
KIND = Kind(MIME, "other")
_CHUNK = 256 * 1024
_HEADER = struct.Struct(">8I")
_VERSIONS = (1, 2, 3)
# The metadata of an entry is small (headers and a key): a bound on what is read to check.
_MAX_METADATA = 1024 * 1024


def parse_metadata(tail: bytes, body_size: int) -> tuple[str, int] | None:
    """``(key, version)`` if ``tail`` (the bytes after a body of ``body_size`` bytes, up to
    the end of the file) is a cache2 metadata block, else None."""
    if len(tail) < 4 + _HEADER.size + 2 + 4:
        return None
    if struct.unpack_from(">I", tail, len(tail) - 4)[0] != body_size:
        return None
    at = 4 + 2 * ((body_size + _CHUNK - 1) // _CHUNK)
    if at + _HEADER.size > len(tail) - 4:
        return None
    version, _fetches, _fetched, _modified, _frecency, _expires, key_size, _flags = (
        _HEADER.unpack_from(tail, at))
    if version not in _VERSIONS:
        return None
    if version == 1:
        at -= 4  # version 1 has no flags field
    key_at = at + _HEADER.size
    if key_size == 0 or key_at + key_size + 1 > len(tail) - 4 or tail[key_at + key_size] != 0:
        return None
    key = tail[key_at : key_at + key_size].decode("utf-8", "replace")
    return (key, version) if ":" in key else None


def is_entry(stream: BinaryIO) -> bool:
    """Whether a content (seekable, any position) is laid out as a cache2 entry."""
    size = stream.seek(0, os.SEEK_END)
    if size < 4 + 4 + _HEADER.size:
        return False
    stream.seek(size - 4)
    body_size = struct.unpack(">I", stream.read(4))[0]
    if body_size >= size - 4 or size - body_size > _MAX_METADATA:
        return False
    stream.seek(body_size)
    return parse_metadata(stream.read(size - body_size), body_size) is not None


def kind_of(head: bytes, stream: BinaryIO | None) -> Kind:
    """``sniff(head)``, unless the content (``stream``, seekable) is a picture or video
    with cache2 metadata after it: then it is a cache2 entry. The scan's analysis, the
    reference walk and re-opening an item for review all type contents this way."""
    kind = sniff(head)
    if kind.media == "other" or stream is None:
        return kind
    try:
        return KIND if is_entry(stream) else kind
    except (OSError, ValueError):
        return kind


@in_memory(STAGE)
def expand_entry(item: Item, data: bytes) -> Iterator[Member | ScanError]:
    """Yield the cached body of a Firefox cache2 entry, named by its URL."""
    body_size = struct.unpack_from(">I", data, len(data) - 4)[0] if len(data) >= 4 else 0
    parsed = parse_metadata(data[body_size:], body_size) if body_size < len(data) else None
    if parsed is None:
        yield ScanError(item.path, STAGE, "not a cache2 entry: its metadata does not parse")
        return
    key, _version = parsed
    url = key.split(":", 1)[1] or "body"
    body = data[:body_size]
    yield Member(name=url, stream=io.BytesIO(body), size=len(body), embedded=True,
                 in_archive=False)


register((MIME,), expand_entry)
