"""Seekable binary streams over backend handles and member streams.

Two helpers shared by the image reader and the expanders:

* ``LockedStream`` wraps a backend file object (dfvfs, pytsk3) so that every read and
  seek runs under one lock: libyal/TSK handles are not known to be thread-safe, and the
  pipeline reads items from several worker threads while the walk goes on.
* ``spool`` copies a forward-only member stream (zip, tar, gzip ...) into an anonymous
  ``SpooledTemporaryFile`` so the result is seekable; small members stay in memory, big
  ones go to an unnamed temp file (member names are never used as paths).
"""

from __future__ import annotations

import io
import shutil
import tempfile
import threading
from collections.abc import Callable
from typing import BinaryIO, Protocol

SPOOL_MEMORY = 16 * 1024 * 1024
CHUNK = 1024 * 1024

# One lock for every dfvfs/pytsk3/libyal call in the process: their handles are shared
# through dfvfs's resolver cache and are not known to be thread-safe.
BACKEND_LOCK = threading.RLock()


class _Backend(Protocol):
    def read(self, size: int = ...) -> bytes: ...
    def seek(self, offset: int, whence: int = ...) -> int | None: ...
    def tell(self) -> int: ...


class LockedStream(io.RawIOBase):
    """A read-only seekable stream whose backend calls are serialised by ``lock``.

    The position is kept here, not in the backend, so two streams that share one
    backend handle (dfvfs caches some) never disturb each other.
    """

    def __init__(
        self,
        opener: Callable[[], _Backend],
        size: int,
        lock: threading.RLock,
        closer: Callable[[_Backend], None] | None = None,
    ) -> None:
        super().__init__()
        self._lock = lock
        with lock:
            self._backend = opener()
        self._size = size
        self._pos = 0
        self._closer = closer

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if pos < 0:
            raise ValueError("negative seek position")
        self._pos = pos
        return pos

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        n = len(data)
        memoryview(buffer)[:n] = data
        return n

    def read(self, size: int = -1) -> bytes:
        if self.closed:
            raise ValueError("read from closed stream")
        remaining = self._size - self._pos
        if remaining <= 0:
            return b""
        if size is None or size < 0 or size > remaining:
            size = remaining
        with self._lock:
            self._backend.seek(self._pos)
            data = self._backend.read(size)
        self._pos += len(data)
        return data

    def readall(self) -> bytes:
        return self.read(-1)

    def close(self) -> None:
        if not self.closed:
            # Drop the backend under the lock: dfvfs finalises a file object when its
            # last reference goes, and a finaliser racing with another thread's cache
            # lookup of the same object hands that thread a closed handle.
            with self._lock:
                if self._closer is not None:
                    self._closer(self._backend)
                self._backend = None
        super().close()


def spool(source: BinaryIO, limit: int | None = None) -> BinaryIO:
    """Copy ``source`` into an anonymous seekable temp stream and rewind it.

    Args:
        source: A readable stream, read to its end (or to ``limit`` bytes).
        limit: Stop after this many bytes; ``None`` reads everything.

    Returns:
        A seekable stream positioned at 0 (in memory up to 16 MiB, then an unnamed file).

    Raises:
        OverflowError: If ``source`` holds more than ``limit`` bytes.
    """
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)  # noqa: SIM115
    if limit is None:
        shutil.copyfileobj(source, out, CHUNK)
    else:
        total = 0
        while True:
            chunk = source.read(min(CHUNK, limit + 1 - total))
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                out.close()
                raise OverflowError(f"more than {limit} bytes")
            out.write(chunk)
    out.seek(0)
    return out  # type: ignore[return-value]
