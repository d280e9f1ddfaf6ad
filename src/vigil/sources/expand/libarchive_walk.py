"""One streaming walk over any archive libarchive reads (through ``libarchive-c``).

libarchive is a streaming reader: open it on a read (and seek) callback, loop over the
headers, read each entry's data once before asking for the next header. Here the
callbacks pull from the container's stream (a file of the evidence or the spooled
bytes of an enclosing member), and each entry's data is handed out as a forward-only
``EntryStream`` that is valid until the next header is read. Nothing seeks back to an
earlier member and nothing re-opens the container.

Errors are per entry where libarchive allows it (``ARCHIVE_FAILED``: that entry is
lost, the walk goes on) and end the walk where it does not (``ARCHIVE_FATAL``: a
truncated stream): every entry before the damage has been yielded by then.
"""

from __future__ import annotations

import ctypes
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

import libarchive.ffi as ffi
from libarchive.exception import ArchiveError

BLOCK = 64 * 1024
_FILETYPE_MASK = 0o170000
_REGULAR = 0o100000
_DIRECTORY = 0o040000
_SYMLINK = 0o120000

_lib = ffi.libarchive
_lib.archive_entry_pathname_utf8.argtypes = [ctypes.c_void_p]
_lib.archive_entry_pathname_utf8.restype = ctypes.c_char_p
_lib.archive_entry_is_encrypted.argtypes = [ctypes.c_void_p]
_lib.archive_entry_is_encrypted.restype = ctypes.c_int
# libarchive-c logs every ARCHIVE_WARN (often with no message: a bare "None" on stderr);
# a warning is not an error here, the data read decides.
logging.getLogger("libarchive").addHandler(logging.NullHandler())
logging.getLogger("libarchive").propagate = False

# Bound here without libarchive-c's error check: "filter all" answers ARCHIVE_WARN for
# the filters it would run as external programs (never used here), which libarchive-c
# logs as a bare "None" on stderr for every walk.
for _support in ("filter_all", "format_all", "format_raw", "format_empty"):
    _function = getattr(_lib, f"archive_read_support_{_support}")
    _function.argtypes = [ctypes.c_void_p]
    _function.restype = ctypes.c_int


class WalkError(Exception):
    """The archive cannot be read any further (libarchive's FATAL, or not an archive)."""


@dataclass(frozen=True)
class Entry:
    """The header of the current entry."""

    name: str
    kind: str  # "file", "dir", "symlink", "hardlink", "other"
    size: int | None
    modified: datetime | None
    encrypted: bool
    target: str | None = None


def _text(raw: bytes | None) -> str:
    return raw.decode("utf-8", "surrogateescape") if raw else ""


class EntryStream(io.RawIOBase):
    """The data of the current entry, read once, front to back."""

    def __init__(self, archive_p: int) -> None:
        super().__init__()
        self._archive_p = archive_p
        self._buffer = ctypes.create_string_buffer(BLOCK)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._archive_p is None:
            raise ValueError("the walk has moved past this member")
        want = min(len(buffer), BLOCK)
        try:
            n = ffi.read_data(self._archive_p, self._buffer, want)
        except ArchiveError as exc:
            raise OSError(f"member data damaged: {_message(exc)}") from exc
        memoryview(buffer)[:n] = self._buffer.raw[:n]
        return n

    def detach_reader(self) -> None:
        """Called when the walk moves on: later reads fail instead of reading another entry."""
        self._archive_p = None  # type: ignore[assignment]


def _message(exc: ArchiveError) -> str:
    msg = exc.msg
    if isinstance(msg, bytes):
        msg = msg.decode("utf-8", "replace")
    return str(msg or "truncated or damaged data")


def walk(
    stream: BinaryIO, raw: bool = False, passphrase: bytes | None = None
) -> Iterator[tuple[Entry, EntryStream]]:
    """Yield ``(header, data stream)`` for every entry of the archive in ``stream``.

    Args:
        stream: The archive's bytes; seeked when it is seekable (zip, 7z need it).
        raw: Read a single compressed stream (gzip, bzip2, xz, zstd, lz4, compress):
            one entry, the decompressed data, under the name ``data``.
        passphrase: Tried for encrypted entries.

    Raises:
        WalkError: when the walk cannot go on; entries before it were yielded.
    """
    seekable = stream.seekable()
    block = ctypes.create_string_buffer(BLOCK)
    block_p = ctypes.cast(block, ctypes.c_void_p)

    def read_cb(_archive: int, _context: int, pointer: ctypes._Pointer) -> int:  # type: ignore[type-arg]
        try:
            data = stream.read(BLOCK)
        except OSError:
            return -1
        ctypes.memmove(block, data, len(data))
        ctypes.cast(pointer, ctypes.POINTER(ctypes.c_void_p))[0] = block_p
        return len(data)

    def seek_cb(_archive: int, _context: int, offset: int, whence: int) -> int:
        try:
            return stream.seek(offset, whence)
        except (OSError, ValueError):
            return -30

    read_callback = ffi.READ_CALLBACK(read_cb)
    seek_callback = ffi.SEEK_CALLBACK(seek_cb)
    archive_p = ffi.read_new()
    try:
        _lib.archive_read_support_filter_all(archive_p)
        if raw:
            _lib.archive_read_support_format_raw(archive_p)
        else:
            _lib.archive_read_support_format_all(archive_p)
            _lib.archive_read_support_format_empty(archive_p)
        if passphrase:
            ffi.read_add_passphrase(archive_p, passphrase)
        if seekable:
            ffi.read_set_seek_callback(archive_p, seek_callback)
        try:
            ffi.read_open(archive_p, None, ffi.NO_OPEN_CB, read_callback, ffi.NO_CLOSE_CB)
        except ArchiveError as exc:
            raise WalkError(f"not a readable archive: {_message(exc)}") from exc
        yield from _entries(archive_p)
    finally:
        ffi.read_free(archive_p)


def _entries(archive_p: int) -> Iterator[tuple[Entry, EntryStream]]:
    entry_p = ffi.entry_new()
    try:
        while True:
            try:
                r = ffi.read_next_header2(archive_p, entry_p)
            except ArchiveError as exc:
                if exc.retcode == ffi.ARCHIVE_FAILED:
                    continue
                raise WalkError(_message(exc)) from exc
            if r == ffi.ARCHIVE_EOF:
                return
            data = EntryStream(archive_p)
            try:
                yield _header(entry_p), data
            finally:
                data.detach_reader()
    finally:
        ffi.entry_free(entry_p)


def _header(entry_p: int) -> Entry:
    name = _text(_lib.archive_entry_pathname_utf8(entry_p) or ffi.entry_pathname(entry_p))
    filetype = ffi.entry_filetype(entry_p) & _FILETYPE_MASK
    hardlink = ffi.entry_hardlink(entry_p)
    if hardlink:
        kind, target = "hardlink", _text(hardlink)
    elif filetype == _REGULAR or filetype == 0:
        kind, target = "file", None
    elif filetype == _DIRECTORY:
        kind, target = "dir", None
    elif filetype == _SYMLINK:
        kind, target = "symlink", _text(ffi.entry_symlink(entry_p))
    else:
        kind, target = "other", None
    size = ffi.entry_size(entry_p) if ffi.entry_size_is_set(entry_p) else None
    modified = None
    if ffi.entry_mtime_is_set(entry_p):
        try:
            modified = datetime.fromtimestamp(ffi.entry_mtime(entry_p), UTC)
        except (OverflowError, OSError, ValueError):
            modified = None
    encrypted = _lib.archive_entry_is_encrypted(entry_p) > 0
    return Entry(name, kind, size, modified, encrypted, target)
