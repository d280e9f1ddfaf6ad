"""The files of one big zip or tar, each reachable again in O(1) by where it is stored.

Phone extractions (UFDR, Android file-system zips and tars, Takeout) are one archive
holding every file of a device. Listing them reads the zip's central directory or the
tar's headers once; each ``Stored`` member keeps where its data is (the zip local
header's offset, the tar data offset and size), so opening it later is a seek, not a
walk through the archive. Every open is a fresh read-only file handle: members of one
archive are read from several worker threads at once.

A zip whose central directory is lost (a truncated copy) is listed from its local
headers front to back instead: every member before the damage is still there.
"""

from __future__ import annotations

import io
import os
import struct
import tarfile
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import BinaryIO

from vigil.model import Item, ScanError
from vigil.sources.folder import _open_readonly

_LOCAL = b"PK\x03\x04"
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_DESCRIPTOR = b"PK\x07\x08"
_ENCRYPTED = 0x1
_HAS_DESCRIPTOR = 0x8
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Stored:
    """One entry of the archive: its name there, what the header says, how to open it."""

    name: str
    kind: str  # "file", "dir", "symlink", "hardlink", "other"
    size: int | None
    modified: datetime | None
    open: Callable[[], BinaryIO]
    encrypted: bool = False
    target: str | None = None


def member_item(member: Stored, path: str, **known: object) -> Item:
    """The top-level Item of ``member`` named ``path``; ``known`` overrides header values."""
    fields: dict[str, object] = {
        "size": member.size,
        "modified": member.modified,
        "encrypted": member.encrypted,
    }
    fields.update(known)
    return Item(path=path, open=member.open, **fields)  # type: ignore[arg-type]


def archive_type(path: Path) -> str | None:
    """``zip`` or ``tar`` from the first bytes of the file at ``path``, else None."""
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError:
        return None
    if head.startswith(_LOCAL) or head.startswith(b"PK\x05\x06"):
        return "zip"
    if len(head) == 512 and head[257:262] == b"ustar":
        return "tar"
    return None


_CACHE: dict[tuple[str, int, int], list[Stored | ScanError]] = {}
_CACHE_LOCK = threading.Lock()


def members(path: Path) -> list[Stored | ScanError]:
    """Every entry of the zip or tar at ``path`` in archive order, damage as ScanErrors.

    Kept for the last archive listed in this process (detection, listing and the
    units of one scan all ask for the same archive).
    """
    st = os.stat(path)
    key = (str(path), st.st_mtime_ns, st.st_size)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
    kind = archive_type(path)
    found: list[Stored | ScanError]
    if kind == "zip":
        found = list(_zip_members(Path(path)))
    elif kind == "tar":
        found = list(_tar_members(Path(path)))
    else:
        found = [ScanError(str(path), "source", "not a zip or tar archive")]
    with _CACHE_LOCK:
        _CACHE.clear()
        _CACHE[key] = found
    return found


def forget() -> None:
    """Drop the kept listing (an archive that is not an extraction is walked as a file)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def _zip_time(info: zipfile.ZipInfo) -> datetime | None:
    try:
        return datetime(*info.date_time, tzinfo=UTC)
    except ValueError:
        return None


def _stored_zip(path: Path, info: zipfile.ZipInfo) -> Stored:
    kind = "dir" if info.is_dir() else "file"
    return Stored(
        info.filename,
        kind,
        info.file_size,
        _zip_time(info),
        partial(_open_zip_member, str(path), info),
        encrypted=bool(info.flag_bits & _ENCRYPTED),
    )


def _zip_members(path: Path) -> Iterator[Stored | ScanError]:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        yield ScanError(
            path.name,
            "source",
            f"zip central directory unreadable ({exc}): members listed from their local headers",
        )
        yield from _scan_local_headers(path)
        return
    for info in infos:
        yield _stored_zip(path, info)


def _scan_local_headers(path: Path) -> Iterator[Stored | ScanError]:
    """Members of a zip without a usable central directory, from the local headers."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        offset = 0
        while offset + _LOCAL_HEADER.size <= size:
            f.seek(offset)
            raw = f.read(_LOCAL_HEADER.size)
            if raw[:4] != _LOCAL:
                if offset < size and raw[:4] not in (b"PK\x01\x02", b"PK\x05\x06", b"PK\x06\x06"):
                    yield ScanError(
                        f"{path.name}@{offset}", "source", "no zip member header here: listing ends"
                    )
                return
            (_sig, _ver, flags, method, mtime, mdate, crc, csize, usize, nlen, xlen) = (
                _LOCAL_HEADER.unpack(raw)
            )
            name_raw = f.read(nlen)
            extra = f.read(xlen)
            name = name_raw.decode("utf-8" if flags & 0x800 else "cp437", "replace")
            data_start = offset + _LOCAL_HEADER.size + nlen + xlen
            if csize == 0xFFFFFFFF or usize == 0xFFFFFFFF:
                csize, usize = _zip64_sizes(extra, csize, usize)
            if flags & _HAS_DESCRIPTOR:
                found = _data_end(f, data_start, method)
                if found is None:
                    yield ScanError(
                        name, "source", "zip member without sizes cannot be delimited: listing ends"
                    )
                    return
                csize, usize, crc = found
            info = zipfile.ZipInfo(name, _dos_time(mdate, mtime))
            info.flag_bits = flags
            info.compress_type = method
            info.compress_size = csize
            info.file_size = usize
            info.CRC = crc
            info.header_offset = offset
            yield _stored_zip(path, info)
            end = data_start + csize
            if end > size:
                yield ScanError(
                    name, "source", f"zip member truncated: {size - data_start} of {csize} bytes"
                )
                return
            offset = end
            if flags & _HAS_DESCRIPTOR:
                f.seek(end)
                offset += 16 if f.read(4) == _DESCRIPTOR else 12
        if offset < size:
            yield ScanError(f"{path.name}@{offset}", "source", "zip ends inside a member header")


def _zip64_sizes(extra: bytes, csize: int, usize: int) -> tuple[int, int]:
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        if tag == 1 and length >= 16:
            usize, csize = struct.unpack_from("<QQ", extra, pos + 4)
            break
        pos += 4 + length
    return csize, usize


def _dos_time(date: int, time: int) -> tuple[int, int, int, int, int, int]:
    return (
        max(1980, (date >> 9) + 1980),
        max(1, (date >> 5) & 0xF),
        max(1, date & 0x1F),
        (time >> 11) & 0x1F,
        (time >> 5) & 0x3F,
        (time & 0x1F) * 2,
    )


def _data_end(f: BinaryIO, start: int, method: int) -> tuple[int, int, int] | None:
    """``(compressed size, size, CRC)`` of a deflated member whose header has no sizes."""
    if method != zipfile.ZIP_DEFLATED:
        return None
    f.seek(start)
    inflater = zlib.decompressobj(-15)
    csize = usize = crc = 0
    while not inflater.eof:
        block = f.read(_CHUNK)
        if not block:
            return None
        try:
            out = inflater.decompress(block)
        except zlib.error:
            return None
        usize += len(out)
        crc = zlib.crc32(out, crc)
        csize += len(block) - len(inflater.unused_data)
    return csize, usize, crc


def _open_zip_member(path: str, info: zipfile.ZipInfo) -> BinaryIO:
    """The bytes of one zip member, reached by its local header offset (one seek)."""
    f = _open_readonly(path)
    try:
        f.seek(info.header_offset)
        raw = f.read(_LOCAL_HEADER.size)
        if len(raw) < _LOCAL_HEADER.size or raw[:4] != _LOCAL:
            raise OSError(f"no zip member header at offset {info.header_offset}")
        fields = _LOCAL_HEADER.unpack(raw)
        data_start = info.header_offset + _LOCAL_HEADER.size + fields[9] + fields[10]
        if info.flag_bits & _ENCRYPTED:
            raise OSError("zip member is encrypted: needs the archive password")
        if info.compress_type == zipfile.ZIP_STORED:
            # Pictures are stored, not deflated: their bytes are a plain slice of the file.
            return Slice(f, data_start, info.compress_size)  # type: ignore[return-value]
        f.seek(data_start)
        reader = zipfile.ZipExtFile(io.BufferedReader(f), "r", info, None, True)
    except (OSError, NotImplementedError, zipfile.BadZipFile) as exc:
        f.close()
        if isinstance(exc, OSError):
            raise
        raise OSError(str(exc)) from exc
    return _ReadErrors(reader)  # type: ignore[return-value]


class _ReadErrors(io.RawIOBase):
    """A member stream whose decoding failures are ``OSError`` (a read error record)."""

    def __init__(self, inner: BinaryIO) -> None:
        super().__init__()
        self._inner = inner

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        try:
            return self._inner.seek(offset, whence)
        except (EOFError, zlib.error, zipfile.BadZipFile, ValueError) as exc:
            raise OSError(f"member data damaged: {exc}") from exc

    def tell(self) -> int:
        return self._inner.tell()

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            data = self._inner.read(len(buffer))
        except (EOFError, zlib.error, zipfile.BadZipFile) as exc:
            raise OSError(f"member data damaged: {exc}") from exc
        memoryview(buffer)[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._inner.close()
        super().close()


def _tar_members(path: Path) -> Iterator[Stored | ScanError]:
    size = os.path.getsize(path)
    with tarfile.open(path, "r:") as tf:
        while True:
            try:
                info = tf.next()
            except tarfile.TarError as exc:
                yield ScanError(path.name, "source", f"tar damaged, listing ends: {exc}")
                return
            if info is None:
                break
            yield _stored_tar(path, info)
            if info.isreg() and info.offset_data + info.size > size:
                have = max(0, size - info.offset_data)
                yield ScanError(
                    info.name, "source", f"tar member truncated: {have} of {info.size} bytes"
                )
                return
        # tarfile ends quietly at a cut header: what follows the last member must be zeros.
        with open(path, "rb") as f:
            f.seek(tf.offset)
            rest = f.read(1024)
        if rest.strip(b"\0"):
            yield ScanError(
                path.name,
                "source",
                f"tar damaged at offset {tf.offset}, listing ends: no member header there",
            )


def _stored_tar(path: Path, info: tarfile.TarInfo) -> Stored:
    if info.isreg():
        kind = "file"
    elif info.isdir():
        kind = "dir"
    elif info.issym():
        kind = "symlink"
    elif info.islnk():
        kind = "hardlink"
    else:
        kind = "other"
    try:
        modified = datetime.fromtimestamp(info.mtime, UTC)
    except (OverflowError, OSError, ValueError):
        modified = None
    return Stored(
        info.name,
        kind,
        info.size if kind == "file" else None,
        modified,
        partial(_open_slice, str(path), info.offset_data, info.size),
        target=info.linkname or None,
    )


def _open_slice(path: str, start: int, size: int) -> BinaryIO:
    return Slice(_open_readonly(path), start, size)  # type: ignore[return-value]


class Slice(io.RawIOBase):
    """``size`` bytes of a file from ``start``: a tar member's data, seekable."""

    def __init__(self, f: BinaryIO, start: int, size: int) -> None:
        super().__init__()
        self._f = f
        self._start = start
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        self._f.seek(self._start + self._pos)
        data = self._f.read(want)
        memoryview(buffer)[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def close(self) -> None:
        self._f.close()
        super().close()
