"""The few calls of the system libewf (Debian ``libewf2``) that pyewf does not expose.

pyewf reads a chunk whose Adler-32 fails as zeros and says nothing. libewf itself keeps
the list of such chunks (``libewf_handle_get_checksum_error``), so ``EwfReader`` reads
the media through the C library with ctypes and hands that list back after the read.
The library comes with ``ewf-tools`` (the Makefile's DEBS).
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache
from pathlib import Path
from types import TracebackType

_ACCESS_READ = 0x01
_FORMAT_UNKNOWN = 0


class LibewfError(OSError):
    """A libewf call failed (the message is libewf's own)."""


@cache
def _lib() -> ctypes.CDLL:
    name = ctypes.util.find_library("ewf") or "libewf.so.2"
    try:
        lib = ctypes.CDLL(name)
    except OSError as exc:
        raise LibewfError(f"libewf not found ({name}): install Debian ewf-tools") from exc
    ptr, size, u32, u64 = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint32, ctypes.c_uint64
    err = ctypes.POINTER(ptr)
    signatures = {
        "libewf_glob": ([ctypes.c_char_p, size, ctypes.c_uint8,
                         ctypes.POINTER(ctypes.POINTER(ctypes.c_char_p)),
                         ctypes.POINTER(ctypes.c_int), err], ctypes.c_int),
        "libewf_glob_free": ([ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, err], ctypes.c_int),
        "libewf_handle_initialize": ([ctypes.POINTER(ptr), err], ctypes.c_int),
        "libewf_handle_open": ([ptr, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int,
                                err], ctypes.c_int),
        "libewf_handle_read_buffer": ([ptr, ptr, size, err], ctypes.c_ssize_t),
        "libewf_handle_get_media_size": ([ptr, ctypes.POINTER(u64), err], ctypes.c_int),
        "libewf_handle_get_chunk_size": ([ptr, ctypes.POINTER(u32), err], ctypes.c_int),
        "libewf_handle_get_bytes_per_sector": ([ptr, ctypes.POINTER(u32), err], ctypes.c_int),
        "libewf_handle_get_number_of_checksum_errors": ([ptr, ctypes.POINTER(u32), err],
                                                        ctypes.c_int),
        "libewf_handle_get_checksum_error": ([ptr, u32, ctypes.POINTER(u64), ctypes.POINTER(u64),
                                              err], ctypes.c_int),
        "libewf_handle_get_utf8_hash_value": ([ptr, ctypes.c_char_p, size, ctypes.c_char_p, size,
                                               err], ctypes.c_int),
        "libewf_handle_close": ([ptr, err], ctypes.c_int),
        "libewf_handle_free": ([ctypes.POINTER(ptr), err], ctypes.c_int),
        "libewf_error_sprint": ([ptr, ctypes.c_char_p, size], ctypes.c_int),
        "libewf_error_free": ([ctypes.POINTER(ptr)], None),
    }
    for fn, (args, res) in signatures.items():
        getattr(lib, fn).argtypes = args
        getattr(lib, fn).restype = res
    return lib


class _Call:
    """Run one libewf call with an error slot; raise ``LibewfError`` with its text."""

    def __init__(self) -> None:
        self.lib = _lib()

    def __call__(self, fn: str, *args: object) -> int:
        error = ctypes.c_void_p()
        result = getattr(self.lib, fn)(*args, ctypes.byref(error))
        if result < 0:
            text = ctypes.create_string_buffer(2048)
            if error:
                self.lib.libewf_error_sprint(error, text, len(text))
                self.lib.libewf_error_free(ctypes.byref(error))
            raise LibewfError(f"{fn}: {text.value.decode('utf-8', 'replace').strip()}")
        return result


class EwfReader:
    """A read-only EWF image (all its segments) read front to back through libewf."""

    def __init__(self, path: Path) -> None:
        self._call = _Call()
        raw = str(path).encode()
        names = ctypes.POINTER(ctypes.c_char_p)()
        count = ctypes.c_int()
        self._call("libewf_glob", raw, len(raw), _FORMAT_UNKNOWN, ctypes.byref(names),
                   ctypes.byref(count))
        self._handle = ctypes.c_void_p()
        try:
            self._call("libewf_handle_initialize", ctypes.byref(self._handle))
            self._call("libewf_handle_open", self._handle, names, count, _ACCESS_READ)
        except LibewfError:
            self.close()
            raise
        finally:
            self._call("libewf_glob_free", names, count)
        self._opened = True

    def _u(self, fn: str, kind: type = ctypes.c_uint32) -> int:
        value = kind()
        self._call(fn, self._handle, ctypes.byref(value))
        return int(value.value)

    @property
    def media_size(self) -> int:
        """Bytes of media the image holds."""
        return self._u("libewf_handle_get_media_size", ctypes.c_uint64)

    @property
    def chunk_size(self) -> int:
        """Bytes per chunk (the unit of a checksum)."""
        return self._u("libewf_handle_get_chunk_size")

    def read(self, size: int) -> bytes:
        """The next ``size`` bytes of media (fewer at the end)."""
        buffer = ctypes.create_string_buffer(size)
        return bytes(memoryview(buffer)[: self.read_into(buffer)])

    def read_into(self, buffer: ctypes.Array) -> int:
        """Read the next bytes of media into ``buffer`` (a ctypes char array); the count.

        ctypes lets go of the GIL for the call, so hashing the previous buffer on other
        threads goes on meanwhile.
        """
        return self._call("libewf_handle_read_buffer", self._handle, buffer, len(buffer))

    def checksum_errors(self) -> list[tuple[int, int]]:
        """Byte ranges ``(offset, size)`` whose chunk checksum failed, among those read."""
        sector = self._u("libewf_handle_get_bytes_per_sector")
        count = self._u("libewf_handle_get_number_of_checksum_errors")
        found = []
        for index in range(count):
            start, number = ctypes.c_uint64(), ctypes.c_uint64()
            self._call("libewf_handle_get_checksum_error", self._handle, index,
                       ctypes.byref(start), ctypes.byref(number))
            found.append((start.value * sector, number.value * sector))
        return found

    def stored_hash(self, name: str) -> str | None:
        """The acquisition hash ``MD5`` / ``SHA1`` stored in the image, lower-case hex."""
        text = ctypes.create_string_buffer(256)
        key = name.encode()
        found = self._call("libewf_handle_get_utf8_hash_value", self._handle, key, len(key),
                           text, len(text))
        value = text.value.decode("ascii", "replace").strip().lower() if found == 1 else ""
        return value or None

    def close(self) -> None:
        """Close the image (idempotent)."""
        if self._handle:
            if getattr(self, "_opened", False):
                self._call("libewf_handle_close", self._handle)
                self._opened = False
            self._call("libewf_handle_free", ctypes.byref(self._handle))
            self._handle = ctypes.c_void_p()

    def __enter__(self) -> EwfReader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
