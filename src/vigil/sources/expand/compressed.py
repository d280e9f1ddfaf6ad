"""Single compressed streams: gzip, bzip2, xz, zstd, lz4, compress (.Z), lzip.

One child: the decompressed stream, read by libarchive's filters as it is consumed.
Its name is the gzip header's original name when present, else the parent's name
without its compression suffix (``sys.tgz`` -> ``sys.tar``), else ``data``. A tar
inside is then walked as its own container (``x.tgz!x.tar!member``). A truncated
stream yields the bytes before the damage and a record of where it broke.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

from vigil.model import Item, ScanError
from vigil.sources.expand import Budget, Member, register
from vigil.sources.expand.libarchive_walk import WalkError, walk

STAGE = "expand.compressed"
_SUFFIXES = {
    "application/gzip": ((".tgz", ".tar"), (".gz", ""), (".gzip", "")),
    "application/x-bzip2": ((".tbz2", ".tar"), (".tbz", ".tar"), (".bz2", "")),
    "application/x-xz": ((".txz", ".tar"), (".xz", "")),
    "application/zstd": ((".tzst", ".tar"), (".zst", "")),
    "application/x-lz4": ((".lz4", ""),),
    "application/x-compress": ((".taz", ".tar"), (".z", "")),
    "application/x-lzip": ((".lz", ""),),
}


def member_name(item: Item, mime: str, head: bytes) -> str:
    """The decompressed stream's name (see the module docstring)."""
    if mime == "application/gzip" and (name := _gzip_original_name(head)):
        return name
    base = item.path.rsplit("/", 1)[-1].rsplit("!", 1)[-1]
    lower = base.lower()
    for suffix, replacement in _SUFFIXES[mime]:
        if lower.endswith(suffix) and len(base) > len(suffix):
            return base[: -len(suffix)] + replacement
    return "data"


def _gzip_original_name(head: bytes) -> str | None:
    if len(head) < 10 or not head[3] & 0x08:  # FNAME flag
        return None
    pos = 10
    if head[3] & 0x04:  # FEXTRA
        if len(head) < 12:
            return None
        pos += 2 + struct.unpack_from("<H", head, 10)[0]
    end = head.find(b"\x00", pos)
    if end <= pos:
        return None
    name = head[pos:end].decode("latin-1").replace("/", "_").replace("\\", "_")
    return name or None


def _expander(mime: str):  # noqa: ANN202 - a registered Expander
    def expand(item: Item, stream: BinaryIO, budget: Budget) -> Iterator[Member | ScanError]:
        head = stream.read(4096)
        stream.seek(0)
        name = member_name(item, mime, head)
        try:
            for _entry, data in walk(stream, raw=True):
                yield Member(name=name, stream=data, in_archive=True)
        except WalkError as exc:
            yield ScanError(item.path, STAGE, f"cannot decompress: {exc}")

    return expand


for _mime in _SUFFIXES:
    register((_mime,), _expander(_mime))
