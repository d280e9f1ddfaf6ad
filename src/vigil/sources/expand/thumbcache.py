"""Windows ``thumbcache_*.db`` (Vista to 11): the cached thumbnails.

The file starts ``CMMM``; so does every cache entry, followed by the entry size. Entry
layouts differ between Windows versions, but the picture data always closes the entry,
so each entry is searched for a JPEG, PNG or BMP signature after its fixed header and
the picture runs from there to the entry's end. Children are ``parent@<offset>``,
``embedded=True``.

``sniff`` must map the ``CMMM`` signature to ``application/x-thumbcache`` for this to be
called (``is_thumbcache`` is the check).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from vigil.model import Item, ScanError
from vigil.sources.expand import Member, embedded, register
from vigil.sources.expand.whole import in_memory

STAGE = "expand.thumbcache"
MIME = "application/x-thumbcache"
_ENTRY_HEADER = 24
_PICTURE_SIGS = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"BM")


def is_thumbcache(head: bytes) -> bool:
    """True if ``head`` starts a thumbcache database (signature ``CMMM``)."""
    return head[:4] == b"CMMM"


@in_memory(STAGE)
def expand_thumbcache(item: Item, data: bytes) -> Iterator[Member | ScanError]:
    """Yield every thumbnail of a thumbcache database as an embedded child item.

    Args:
        item: The thumbcache item.
        data: Its bytes.

    Returns:
        An iterator of embedded ``Member``s and ``ScanError``s.
    """
    if not is_thumbcache(data):
        yield ScanError(item.path, STAGE, "no CMMM signature")
        return
    pos = data.find(b"CMMM", 4)
    while pos != -1 and pos + 8 <= len(data):
        size = struct.unpack_from("<I", data, pos + 4)[0]
        end = pos + size
        if size < _ENTRY_HEADER or end > len(data):
            yield ScanError(f"{item.path}@{pos}", STAGE, f"bad entry size {size}")
            break
        entry = data[pos:end]
        starts = [i for sig in _PICTURE_SIGS if (i := entry.find(sig, _ENTRY_HEADER)) != -1]
        if starts:
            start = pos + min(starts)
            yield embedded(data[start:end], start)
        pos = data.find(b"CMMM", end)


register((MIME,), expand_thumbcache)
