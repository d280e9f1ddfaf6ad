"""Deleted entries of a file system, through pytsk3 on the same dfvfs base.

dfvfs never lists deleted entries, so after the allocated walk ``iter_deleted`` walks
the TSK directory tree (allocated directories and, once each, deleted ones) and yields
every regular-file entry whose name or metadata is unallocated
(``TSK_FS_NAME_FLAG_UNALLOC`` / ``TSK_FS_META_FLAG_UNALLOC``), plus TSK's orphan files
(``$OrphanFiles/OrphanFile-N``, inodes that no name points to any more).

Content policy:

* metadata survives and is itself unallocated: ``size`` is the recorded size and
  ``open()`` reads what TSK recovers (FAT, exFAT, NTFS; on NTFS the name's ``meta`` is
  often None because the sequence number was bumped, so the entry is opened by its
  metadata address);
* no metadata (address 0) or metadata reused by a live file: ``size`` is None and
  ``open()`` returns an empty stream. **size None on a deleted item means "deleted, no
  content recovered"**: the pipeline should record it and not hash it.

Provenance is ``<prefix>/<path>``; when that collides with an allocated item or an
earlier deleted one (a file deleted and recreated under the same name), the path gets
``#<meta_addr>`` appended.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytsk3

from vigil.model import Item, ScanError
from vigil.sources.spool import BACKEND_LOCK, LockedStream

_FS_NAMES = {
    pytsk3.TSK_FS_TYPE_NTFS: "NTFS",
    pytsk3.TSK_FS_TYPE_FAT12: "FAT12",
    pytsk3.TSK_FS_TYPE_FAT16: "FAT16",
    pytsk3.TSK_FS_TYPE_FAT32: "FAT32",
    pytsk3.TSK_FS_TYPE_EXFAT: "EXFAT",
    pytsk3.TSK_FS_TYPE_EXT2: "EXT",
    pytsk3.TSK_FS_TYPE_EXT3: "EXT",
    pytsk3.TSK_FS_TYPE_EXT4: "EXT",
    pytsk3.TSK_FS_TYPE_HFS: "HFS",
    pytsk3.TSK_FS_TYPE_ISO9660: "ISO9660",
    pytsk3.TSK_FS_TYPE_APFS: "APFS",
    pytsk3.TSK_FS_TYPE_FFS1: "UFS",
    pytsk3.TSK_FS_TYPE_FFS1B: "UFS",
    pytsk3.TSK_FS_TYPE_FFS2: "UFS",
    pytsk3.TSK_FS_TYPE_YAFFS2: "YAFFS2",
}
_FS_NAMES_BY_VALUE = {int(k): v for k, v in _FS_NAMES.items()}

_NAME_UNALLOC = int(pytsk3.TSK_FS_NAME_FLAG_UNALLOC)
_META_UNALLOC = int(pytsk3.TSK_FS_META_FLAG_UNALLOC)
_META_ALLOC = int(pytsk3.TSK_FS_META_FLAG_ALLOC)
_TYPE_DIR = {int(pytsk3.TSK_FS_META_TYPE_DIR), int(pytsk3.TSK_FS_META_TYPE_VIRT_DIR)}
_NAME_DIR = {int(pytsk3.TSK_FS_NAME_TYPE_DIR), int(pytsk3.TSK_FS_NAME_TYPE_VIRT_DIR)}
_FILE_TYPES = {int(pytsk3.TSK_FS_META_TYPE_REG), int(pytsk3.TSK_FS_META_TYPE_UNDEF)}
_NAME_FILE_TYPES = {int(pytsk3.TSK_FS_NAME_TYPE_REG), int(pytsk3.TSK_FS_NAME_TYPE_UNDEF)}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NTFS = int(pytsk3.TSK_FS_TYPE_NTFS)
_NTFS_FIRST_USER_ENTRY = 24
_MAX_DIRS = 1_000_000


def tsk_fs_name(ftype: int) -> str | None:
    """Provenance name of a TSK file-system type number (``TSK_FS_TYPE_*``).

    Args:
        ftype: ``FS_Info.info.ftype`` as an int.

    Returns:
        NTFS, FAT12, FAT16, FAT32, EXFAT, EXT, HFS, ISO9660 ... or None if unknown.
    """
    return _FS_NAMES_BY_VALUE.get(int(ftype))


def open_tsk(base: Any) -> Any | None:
    """Open the dfvfs TSK file system on the image layers under a file-system base.

    Call with ``BACKEND_LOCK`` held. Keep the returned object alive while any item
    read through it may still be opened: dfvfs closes a file system (and the image
    handles under it) when its last reference goes. ``.GetFsInfo()`` gives pytsk3's
    ``FS_Info``.

    Args:
        base: A dfvfs base path spec (NTFS, FAT, EXT, TSK ...).

    Returns:
        The dfvfs ``TSKFileSystem``, or None when TSK cannot read that file system (APFS).
    """
    from dfvfs.lib import definitions
    from dfvfs.path import factory
    from dfvfs.resolver import resolver

    try:
        if base.type_indicator == definitions.TYPE_INDICATOR_TSK:
            spec = base
        else:
            spec = factory.Factory.NewPathSpec(
                definitions.TYPE_INDICATOR_TSK, location="/", parent=base.parent
            )
        tsk = resolver.Resolver.OpenFileSystem(spec)
        tsk.GetFsInfo().info.ftype  # noqa: B018 - fail here if TSK cannot read it
        return tsk
    except Exception:  # noqa: BLE001 - TSK not supporting a file system is not an error
        return None


def iter_deleted(tsk: Any, prefix: str, taken: set[str]) -> Iterator[Item | ScanError]:
    """Yield the deleted regular files of one file system.

    Args:
        tsk: dfvfs ``TSKFileSystem`` of the file system (from ``open_tsk``).
        prefix: Provenance prefix, e.g. ``p1/NTFS``.
        taken: Paths already yielded for this file system; updated in place.

    Returns:
        An iterator of ``Item`` (``deleted=True, allocated=False``) and ``ScanError``.
    """
    fs_info = tsk.GetFsInfo()
    try:
        with BACKEND_LOCK:
            root_inum = int(fs_info.info.root_inum)
    except (OSError, AttributeError) as exc:
        yield ScanError(prefix, "deleted", f"cannot read file-system info: {exc}")
        return
    stack: list[tuple[int, str]] = [(root_inum, "")]
    visited: set[int] = {root_inum}
    while stack:
        inum, rel = stack.pop()
        found: list[Item | ScanError] = []
        with BACKEND_LOCK:
            try:
                directory = fs_info.open_dir(inode=inum)
                for entry in directory:
                    _visit(tsk, entry, rel, prefix, taken, found, stack, visited)
            except (OSError, RuntimeError) as exc:
                where = f"{prefix}/{rel}" if rel else prefix
                found.append(ScanError(where, "deleted", f"cannot list directory: {exc}"))
        yield from found
        if len(visited) > _MAX_DIRS:
            yield ScanError(prefix, "deleted", f"directory limit {_MAX_DIRS} reached")
            return


def _visit(
    tsk: Any,
    entry: Any,
    rel: str,
    prefix: str,
    taken: set[str],
    found: list[Item | ScanError],
    stack: list[tuple[int, str]],
    visited: set[int],
) -> None:
    fs_info = tsk.GetFsInfo()
    info_name = entry.info.name
    raw = info_name.name
    name = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    if name in (".", ".."):
        return
    child_rel = f"{rel}/{name}" if rel else name
    name_flags = int(info_name.flags)
    meta_addr = int(info_name.meta_addr)
    meta = entry.info.meta
    name_type = int(info_name.type)
    meta_type = int(meta.type) if meta is not None else None

    is_dir = meta_type in _TYPE_DIR if meta_type is not None else name_type in _NAME_DIR
    name_unalloc = bool(name_flags & _NAME_UNALLOC)
    if 0 < meta_addr < _NTFS_FIRST_USER_ENTRY and int(fs_info.info.ftype) == _NTFS:
        return  # reserved NTFS system entries show up as empty orphans
    if is_dir and not (name_unalloc and meta_addr == 0):
        if meta_addr and meta_addr not in visited:
            visited.add(meta_addr)
            stack.append((meta_addr, child_rel))
        return

    meta_unalloc = meta is not None and bool(int(meta.flags) & _META_UNALLOC)
    if not (name_unalloc or meta_unalloc):
        return
    if meta_type is not None and meta_type not in _FILE_TYPES:
        return
    if meta_type is None and meta_addr and name_type not in _NAME_FILE_TYPES:
        return

    if meta is None and meta_addr:
        # NTFS bumps the sequence number on delete, so TSK does not attach the entry.
        try:
            meta = fs_info.open_meta(inode=meta_addr).info.meta
        except (OSError, RuntimeError):
            meta = None
    recoverable = (
        meta is not None and meta_addr != 0 and not (int(meta.flags) & _META_ALLOC)
    )
    path = f"{prefix}/{child_rel}"
    if path in taken:
        path = f"{path}#{meta_addr}"
    taken.add(path)
    size = int(meta.size) if recoverable and meta is not None else None
    times = _times(meta) if meta is not None else {}
    found.append(
        Item(
            path=path,
            open=_opener(tsk, meta_addr, size),
            size=size,
            allocated=False,
            deleted=True,
            inode=str(meta_addr),
            **times,
        )
    )


class _TskFile:
    """Seek/read adapter over a pytsk3 File (``read_random``)."""

    def __init__(self, tsk_file: Any, size: int) -> None:
        self._file = tsk_file
        self._size = size
        self._pos = 0

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._pos = offset
        return offset

    def tell(self) -> int:
        return self._pos

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            size = self._size - self._pos
        size = min(size, self._size - self._pos)
        if size <= 0:
            return b""
        try:
            data = self._file.read_random(self._pos, size)
        except OSError:
            # Clusters that cannot be read back: the stream ends at what exists.
            return b""
        self._pos += len(data)
        return data


def _opener(tsk: Any, meta_addr: int, size: int | None) -> Any:
    # The closure holds ``tsk`` so the image stays open as long as the item exists.
    def open_() -> io.RawIOBase:
        if size is None:
            return io.BytesIO(b"")  # type: ignore[return-value]
        return LockedStream(
            lambda: _TskFile(tsk.GetFsInfo().open_meta(inode=meta_addr), size),
            size,
            BACKEND_LOCK,
        )

    return open_


def _times(meta: Any) -> dict[str, datetime | None]:
    def conv(seconds: Any, nanos: Any) -> datetime | None:
        try:
            sec = int(seconds)
        except (TypeError, ValueError):
            return None
        if sec <= 0:
            return None
        try:
            return _EPOCH + timedelta(seconds=sec, microseconds=int(nanos or 0) // 1000)
        except OverflowError:
            return None

    return {
        "created": conv(getattr(meta, "crtime", 0), getattr(meta, "crtime_nano", 0)),
        "modified": conv(getattr(meta, "mtime", 0), getattr(meta, "mtime_nano", 0)),
        "accessed": conv(getattr(meta, "atime", 0), getattr(meta, "atime_nano", 0)),
        "changed": conv(getattr(meta, "ctime", 0), getattr(meta, "ctime_nano", 0)),
    }
