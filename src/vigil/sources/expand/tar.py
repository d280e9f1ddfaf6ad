"""Tar archives (plain; gzip/bzip2/xz layers are peeled by ``compressed.py`` first)."""

from __future__ import annotations

import tarfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import BinaryIO

from vigil.model import Item, ScanError
from vigil.sources.expand import Limits, register
from vigil.sources.expand.members import Budget, child
from vigil.sources.spool import spool

STAGE = "expand.tar"


def expand_tar(item: Item, limits: Limits) -> Iterator[Item | ScanError]:
    """Yield the regular-file members of a tar archive as child items.

    Args:
        item: The tar item.
        limits: Bomb guards.

    Returns:
        An iterator of child ``Item``s and ``ScanError``s.
    """
    budget = Budget(item, limits, STAGE)
    if (error := budget.depth_error()) is not None:
        yield error
        return
    members: list[tuple[str, int, int, float]] = []
    try:
        with item.open() as stream, tarfile.open(fileobj=stream, mode="r:") as archive:
            for index, info in enumerate(archive):
                if info.isfile():
                    members.append((info.name, index, info.size, info.mtime))
                if index > limits.max_entries:
                    break
    except (tarfile.TarError, OSError, ValueError, EOFError) as exc:
        yield ScanError(item.path, STAGE, f"tar read stopped: {exc}")
    for name, index, size, mtime in members:
        # Tar does not compress: ``packed`` is the size itself, so no ratio applies.
        if (error := budget.admit(name, size, size)) is not None:
            yield error
            if budget.entry_limit_hit():
                return
            continue
        yield child(item, name, _opener(item, index, size), size, modified=_time(mtime))


def _time(mtime: float) -> datetime | None:
    try:
        return datetime.fromtimestamp(mtime, UTC) if mtime > 0 else None
    except (OverflowError, OSError, ValueError):
        return None


def _opener(item: Item, index: int, size: int) -> Callable[[], BinaryIO]:
    def open_() -> BinaryIO:
        # Members are addressed by position: tar allows the same name twice.
        with item.open() as stream, tarfile.open(fileobj=stream, mode="r:") as archive:
            for position, info in enumerate(archive):
                if position == index:
                    member = archive.extractfile(info)
                    if member is None:
                        break
                    return spool(member, limit=size)
        raise OSError(f"tar member #{index} not found")

    return open_


register(("application/x-tar",), expand_tar)
