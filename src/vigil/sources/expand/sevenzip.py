"""7z archives through py7zr (no extraction to disk: members go to spooled streams)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import py7zr
import py7zr.io as py7zr_io

from vigil.model import Item, ScanError
from vigil.sources.expand import Limits, register
from vigil.sources.expand.members import Budget, child
from vigil.sources.spool import SPOOL_MEMORY

STAGE = "expand.7z"


class _Sink(py7zr_io.Py7zIO):
    """A py7zr writer into an anonymous spooled temp file, refusing more than ``limit``."""

    def __init__(self, limit: int) -> None:
        import tempfile

        self.buffer = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)  # noqa: SIM115
        self.limit = limit
        self.written = 0

    def write(self, s: Any) -> int:
        self.written += len(s)
        if self.written > self.limit:
            raise OverflowError(f"member larger than {self.limit} bytes")
        return self.buffer.write(s)

    def read(self, size: int | None = None) -> bytes:
        return self.buffer.read(-1 if size is None else size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.buffer.seek(offset, whence)

    def flush(self) -> None:
        self.buffer.flush()

    def size(self) -> int:
        return self.written


class _Factory(py7zr_io.WriterFactory):
    def __init__(self, wanted: str, limit: int) -> None:
        self.wanted = wanted
        self.limit = limit
        self.sink: _Sink | None = None

    def create(self, filename: str) -> py7zr_io.Py7zIO:
        if filename == self.wanted:
            self.sink = _Sink(self.limit)
            return self.sink
        return py7zr_io.NullIO()


def expand_7z(item: Item, limits: Limits) -> Iterator[Item | ScanError]:
    """Yield the members of a 7z archive as child items.

    Args:
        item: The 7z item.
        limits: Bomb guards.

    Returns:
        An iterator of child ``Item``s and ``ScanError``s (``encrypted`` when a password
        is needed; with encrypted headers the names cannot be listed at all).
    """
    budget = Budget(item, limits, STAGE)
    if (error := budget.depth_error()) is not None:
        yield error
        return
    try:
        with item.open() as stream, py7zr.SevenZipFile(stream) as archive:
            encrypted = archive.needs_password()
            infos = [f for f in archive.list() if not f.is_directory]
    except py7zr.PasswordRequired:
        yield ScanError(item.path, STAGE, "encrypted: header is encrypted, members unknown")
        return
    except (py7zr.Bad7zFile, OSError, ValueError, EOFError, KeyError, IndexError) as exc:
        yield ScanError(item.path, STAGE, f"not a readable 7z: {exc}")
        return
    total_unpacked = sum(int(f.uncompressed or 0) for f in infos)
    for info in infos:
        size = int(info.uncompressed) if info.uncompressed is not None else None
        # 7z is solid: compressed sizes are per block, so the ratio is judged on the
        # whole archive against the container's size.
        share = None
        if size is not None and item.size and total_unpacked:
            share = max(1, item.size * size // total_unpacked)
        if (error := budget.admit(info.filename, size, share)) is not None:
            yield error
            if budget.entry_limit_hit():
                return
            continue
        yield child(
            item,
            info.filename,
            _opener(
                item, info.filename, min(size or limits.max_member_bytes, limits.max_member_bytes)
            ),
            size,
            encrypted=encrypted,
            modified=info.creationtime,
        )
    if encrypted:
        yield ScanError(item.path, STAGE, "encrypted: members are listed but cannot be read")


def _opener(item: Item, name: str, limit: int) -> Callable[[], BinaryIO]:
    def open_() -> BinaryIO:
        factory = _Factory(name, limit)
        with item.open() as stream, py7zr.SevenZipFile(stream) as archive:
            archive.extract(targets=[name], factory=factory)
        if factory.sink is None:
            raise OSError(f"7z member {name!r} not produced")
        factory.sink.buffer.seek(0)
        return factory.sink.buffer  # type: ignore[return-value]

    return open_


register(("application/x-7z-compressed",), expand_7z)
