"""A small writer of RAR 5.0 archives whose members are stored (method 0, no compression).

Debian main has no RAR writer, so the benchmarks and tests that need a RAR make one
here, following the public description of the RAR 5.0 archive format. An archive is:

    signature   Rar!\\x1a\\x07\\x01\\x00
    block       main archive header (type 1)
    block       file header (type 2), one per member, followed by its data area
    block       end of archive header (type 5)

Every block starts with the CRC32 of its header (a uint32), then the header's size (a
vint: 7 bits a byte, low bits first, the top bit set on every byte but the last), then
the header's fields from its type on, all counted by that size. A file header's data
area (the member's bytes, stored as they are) follows the header and is not counted in
it; its length is the header's "data size" field and its CRC32 the "data CRC32" field.

Members are written one at a time and their bytes copied in blocks, so the memory used
does not depend on the size of the archive or of a member (a file added by path is read
twice: once for its CRC32, which the header holds before the data, once to copy it).

    with Rar5Writer(open("out.rar", "wb")) as rar:
        rar.add_dir("photos")
        rar.add_bytes("photos/a.png", data)
        rar.add_file("photos/b.jpg", Path("b.jpg"))

Only stored members are written: the compression of a real RAR archive is not covered.
"""

from __future__ import annotations

import zlib
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import BinaryIO

SIGNATURE = b"Rar!\x1a\x07\x01\x00"
COPY_BLOCK = 1 << 20
MAX_HEADER = 2 << 20  # the format bounds a header at 2 MB

_MAIN, _FILE, _END = 1, 2, 5
_HAS_DATA, _SKIP_IF_UNKNOWN = 0x0002, 0x0004  # block flags
_IS_DIRECTORY, _HAS_MTIME, _HAS_CRC32 = 0x0001, 0x0002, 0x0004  # file flags
_UNIX = 1  # host OS: attributes are a Unix st_mode
_FILE_MODE, _DIR_MODE = 0o100644, 0o040755
_STORED = 0  # compression information: version 0, method 0 (store), no solid flag


def vint(value: int) -> bytes:
    """``value`` as a RAR 5.0 variable-length integer."""
    if value < 0:
        raise ValueError(f"a vint cannot be negative: {value}")
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        if not value:
            out.append(low)
            return bytes(out)
        out.append(low | 0x80)


def block(fields: bytes) -> bytes:
    """A whole header: its CRC32 and size in front of ``fields`` (type, flags, ...)."""
    if len(fields) > MAX_HEADER:
        raise ValueError(f"header of {len(fields)} bytes is over the 2 MB the format allows")
    sized = vint(len(fields)) + fields
    return zlib.crc32(sized).to_bytes(4, "little") + sized


def member_name(name: str) -> bytes:
    """The stored name: relative, '/' between directories, UTF-8 without a trailing zero."""
    path = PurePosixPath(name)
    if not name or path.is_absolute() or "\\" in name or ".." in path.parts:
        raise ValueError(f"not a relative member name with '/' separators: {name!r}")
    return str(path).encode("utf-8")


class Rar5Writer:
    """Writes a RAR 5.0 archive to ``out``, one stored member at a time."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._closed = False
        # Main archive header: no extra area, archive flags 0 (one volume, not solid).
        out.write(SIGNATURE + block(vint(_MAIN) + vint(0) + vint(0)))

    def add_dir(self, name: str, mtime: int = 0) -> None:
        """A directory entry (with an empty data area: libarchive wants one on every file)."""
        self._header(name, _IS_DIRECTORY, 0, 0, _DIR_MODE, mtime)

    def add_bytes(self, name: str, data: bytes, mtime: int = 0) -> None:
        """A member holding ``data``."""
        self._header(name, 0, len(data), zlib.crc32(data), _FILE_MODE, mtime)
        self._out.write(data)

    def add_file(self, name: str, path: Path, mtime: int | None = None) -> None:
        """A member holding the bytes of the file at ``path`` (its mtime unless given)."""
        crc, size = 0, 0
        with path.open("rb") as f:
            while chunk := f.read(COPY_BLOCK):
                crc, size = zlib.crc32(chunk, crc), size + len(chunk)
        if mtime is None:
            mtime = int(path.stat().st_mtime)
        self._header(name, 0, size, crc, _FILE_MODE, mtime)
        copied = 0
        with path.open("rb") as f:
            while chunk := f.read(min(COPY_BLOCK, size - copied)):
                self._out.write(chunk)
                copied += len(chunk)
        if copied != size:
            raise OSError(f"{path} changed while it was written: {copied} of {size} bytes")

    def close(self) -> None:
        """Write the end of archive header (the last volume); ``out`` stays open."""
        if not self._closed:
            # Skip-if-unknown set, as RAR itself writes it: the same 8 bytes end every archive.
            self._out.write(block(vint(_END) + vint(_SKIP_IF_UNKNOWN) + vint(0)))
            self._closed = True

    def __enter__(self) -> Rar5Writer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is None:
            self.close()

    def _header(
        self, name: str, file_flags: int, size: int, crc: int, mode: int, mtime: int
    ) -> None:
        raw_name = member_name(name)
        directory = file_flags & _IS_DIRECTORY
        fields = (
            vint(_FILE)
            + vint(_HAS_DATA)
            + vint(size)
            + vint(file_flags | _HAS_MTIME | (0 if directory else _HAS_CRC32))
            + vint(size)
            + vint(mode)
            + (mtime & 0xFFFFFFFF).to_bytes(4, "little")
            + (b"" if directory else crc.to_bytes(4, "little"))
            + vint(_STORED)
            + vint(_UNIX)
            + vint(len(raw_name))
            + raw_name
        )
        self._out.write(block(fields))
