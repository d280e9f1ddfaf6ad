"""Seekable binary streams over backend handles and member streams.

Two helpers shared by the image reader and the expanders:

* ``LockedStream`` wraps a backend file object (dfvfs, pytsk3) so that every read and
  seek runs under one lock: libyal/TSK handles are not known to be thread-safe, and the
  pipeline reads items from several worker threads while the walk goes on.
* ``Spool`` keeps the one copy of a container member that must be read twice (digest,
  then decode or walk): in memory up to ``SPOOL_MEMORY``, then in an unnamed temp file
  (``O_TMPFILE``: deleted at once, never named after the member) in the case folder.
  ``Spool.open()`` gives independent read-only views of it while the walk is on it.
"""

from __future__ import annotations

import io
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


class Spool:
    """One member's bytes, written once, readable many times until ``close``."""

    def __init__(self, directory: str | None = None) -> None:
        self._file = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY, dir=directory)  # noqa: SIM115
        self._lock = threading.RLock()

    def write(self, data: bytes | memoryview) -> int:
        return self._file.write(data)

    def open(self) -> BinaryIO:
        """A new read-only view from the start (closing it leaves the spool open)."""
        if self._file.closed:
            raise OSError("the walk has moved past this member")
        size = self._file.seek(0, io.SEEK_END)
        return LockedStream(lambda: self._file, size, self._lock)  # type: ignore[return-value]

    def close(self) -> None:
        self._file.close()
