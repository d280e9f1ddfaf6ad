"""Single-stream compression: gzip, bzip2, xz. One child, the decompressed stream.

The child's name is the gzip header's original name when present, else the parent's
name without its compression suffix (``sys.tgz`` -> ``sys.tar``), else ``data``.
Decompression stops at ``max_member_bytes`` and at ``max_ratio`` times the input size
(beyond 1 MiB): a bomb becomes a ScanError naming the limit.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import struct
from collections.abc import Callable, Iterator
from typing import BinaryIO

from vigil.model import Item, ScanError
from vigil.sources.expand import Limits, register
from vigil.sources.expand.members import RATIO_FLOOR, Budget, child
from vigil.sources.spool import spool

_SUFFIXES = {
    "application/gzip": ((".tgz", ".tar"), (".gz", ""), (".gzip", "")),
    "application/x-bzip2": ((".tbz2", ".tar"), (".tbz", ".tar"), (".bz2", "")),
    "application/x-xz": ((".txz", ".tar"), (".xz", "")),
}
_OPENERS: dict[str, Callable[[BinaryIO], BinaryIO]] = {
    "application/gzip": lambda s: gzip.GzipFile(fileobj=s, mode="rb"),  # type: ignore[misc]
    "application/x-bzip2": lambda s: bz2.BZ2File(s, mode="rb"),  # type: ignore[misc]
    "application/x-xz": lambda s: lzma.LZMAFile(s, mode="rb"),  # type: ignore[misc]  # noqa: SIM115
}


def _member_name(item: Item, mime: str) -> str:
    if mime == "application/gzip":
        with item.open() as stream:
            name = _gzip_original_name(stream.read(4096))
        if name:
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


def _make_expander(mime: str) -> Callable[[Item, Limits], Iterator[Item | ScanError]]:
    stage = f"expand.{mime.rsplit('/', 1)[-1].removeprefix('x-')}"

    def expand(item: Item, limits: Limits) -> Iterator[Item | ScanError]:
        budget = Budget(item, limits, stage)
        if (error := budget.depth_error()) is not None:
            yield error
            return
        limit = limits.max_member_bytes
        if item.size:
            limit = min(limit, max(RATIO_FLOOR, int(item.size * limits.max_ratio)))
        try:
            name = _member_name(item, mime)
            # Decompress once to learn the size and to stop bombs before anyone reads it.
            with item.open() as stream, _OPENERS[mime](stream) as plain:
                size = _measure(plain, limit)
        except OverflowError:
            yield ScanError(
                item.path,
                stage,
                f"expansion ratio limit: output exceeds {limit} bytes "
                f"(max_ratio={limits.max_ratio:g}, max_member_bytes={limits.max_member_bytes})",
            )
            return
        except (OSError, EOFError, ValueError, lzma.LZMAError) as exc:
            yield ScanError(item.path, stage, f"cannot decompress: {exc}")
            return
        if (error := budget.admit(name, size, None)) is not None:
            yield error
            return
        yield child(item, name, _opener(item, mime, size), size)

    return expand


def _measure(plain: BinaryIO, limit: int) -> int:
    total = 0
    while chunk := plain.read(1024 * 1024):
        total += len(chunk)
        if total > limit:
            raise OverflowError
    return total


def _opener(item: Item, mime: str, size: int) -> Callable[[], BinaryIO]:
    def open_() -> BinaryIO:
        with item.open() as stream, _OPENERS[mime](stream) as plain:
            return spool(plain, limit=size)

    return open_


for _mime in _OPENERS:
    register((_mime,), _make_expander(_mime))
