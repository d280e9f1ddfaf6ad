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

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytsk3

from vigil.model import Item, Locator, ScanError
from vigil.sources import skips
from vigil.sources.spool import BACKEND_LOCK

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
_FILE_TYPES = {int(pytsk3.TSK_FS_META_TYPE_REG), int(pytsk3.TSK_FS_META_TYPE_UNDEF)}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NTFS = int(pytsk3.TSK_FS_TYPE_NTFS)
_NTFS_FIRST_USER_ENTRY = 24
_MAX_DIRS = 1_000_000
_UNDEF = int(pytsk3.TSK_FS_META_TYPE_UNDEF)
_LNK = int(pytsk3.TSK_FS_META_TYPE_LNK)
_VIRTUAL = {int(pytsk3.TSK_FS_META_TYPE_VIRT), int(pytsk3.TSK_FS_META_TYPE_VIRT_DIR)}
_NAME_TO_META = {
    int(getattr(pytsk3, f"TSK_FS_NAME_TYPE_{t}")): int(getattr(pytsk3, f"TSK_FS_META_TYPE_{t}"))
    for t in ("REG", "DIR", "LNK", "FIFO", "SOCK", "CHR", "BLK", "VIRT", "VIRT_DIR", "UNDEF")
}
_SPECIAL = {
    int(pytsk3.TSK_FS_META_TYPE_FIFO): skips.FIFO,
    int(pytsk3.TSK_FS_META_TYPE_SOCK): skips.SOCKET,
    int(pytsk3.TSK_FS_META_TYPE_CHR): skips.CHAR_DEVICE,
    int(pytsk3.TSK_FS_META_TYPE_BLK): skips.BLOCK_DEVICE,
}
_FAT = {int(pytsk3.TSK_FS_TYPE_FAT12), int(pytsk3.TSK_FS_TYPE_FAT16), int(pytsk3.TSK_FS_TYPE_FAT32)}
# File systems whose dfvfs walk (libyal) is cross-checked against Sleuth Kit's listing.
_RESCUE = _FAT | {
    int(pytsk3.TSK_FS_TYPE_NTFS),
    int(pytsk3.TSK_FS_TYPE_EXT2),
    int(pytsk3.TSK_FS_TYPE_EXT3),
    int(pytsk3.TSK_FS_TYPE_EXT4),
}
_FAT_LABEL = "(Volume Label Entry)"
_DATA_ATTRS = {int(pytsk3.TSK_FS_ATTR_TYPE_DEFAULT), int(pytsk3.TSK_FS_ATTR_TYPE_NTFS_DATA)}
_SPARSE_RUN = int(pytsk3.TSK_FS_ATTR_RUN_FLAG_SPARSE) | int(pytsk3.TSK_FS_ATTR_RUN_FLAG_FILLER)


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


@dataclass
class Listed:
    """What the dfvfs walk of one file system already covered (``image.py`` fills it).

    ``paths`` holds every provenance path it listed (items, directories, records),
    ``inodes`` the metadata addresses of its items. The Sleuth Kit walk yields an
    allocated file only when neither knows it: dfvfs could not list or read it.
    """

    paths: set[str] = field(default_factory=set)
    inodes: set[str] = field(default_factory=set)
    # The record of each file yielded here for dfvfs; None: the caller records it once.
    note: str | None = "not listed by dfvfs; listed and read through Sleuth Kit"


def iter_deleted(
    reader: Any, base: int, prefix: str, taken: set[str], listed: Listed | None = None
) -> Iterator[Item | ScanError]:
    """Yield the deleted regular files of one file system (and what dfvfs missed).

    Each directory entry is its own try: a bad entry is a record and the listing goes
    on. Deleted directories are walked for their deleted children (the metadata type
    decides what is a directory: a deleted NTFS name often has no type of its own).

    Args:
        reader: The image's reader (``image_read``): ``reader.tsk(base)`` is the dfvfs
            ``TSKFileSystem`` of the file system, and items are opened through it.
        base: The file system's position among the reader's file systems.
        prefix: Provenance prefix, e.g. ``p1/NTFS``.
        taken: Paths already yielded for this file system; updated in place.
        listed: What the dfvfs walk listed. When given (NTFS, FAT, ext only), every
            allocated regular file it does not know is yielded too, read through
            Sleuth Kit, with a record saying so; and every allocated link, FIFO,
            socket or device it does not know gets its record.

    Returns:
        An iterator of ``Item`` (``deleted=True, allocated=False`` for deleted ones)
        and ``ScanError``.
    """
    tsk = reader.tsk(base)
    fs_info = tsk.GetFsInfo()
    try:
        with BACKEND_LOCK:
            root_inum = int(fs_info.info.root_inum)
            ftype = int(fs_info.info.ftype)
    except (OSError, AttributeError) as exc:
        yield ScanError(prefix, "deleted", f"cannot read file-system info: {exc}")
        return
    walk = _Walk(tsk, fs_info, ftype, prefix, taken, listed if ftype in _RESCUE else None)
    walk.reader, walk.base = reader, base
    with BACKEND_LOCK:
        walk.visited[walk.dir_key(root_inum)] = ""
    stack: list[tuple[int, str]] = [(root_inum, "")]
    while stack:
        inum, rel = stack.pop()
        where = f"{prefix}/{rel}" if rel else prefix
        found: list[Item | ScanError] = []
        with BACKEND_LOCK:
            try:
                entries = iter(fs_info.open_dir(inode=inum))
            except (OSError, RuntimeError) as exc:
                entries = iter(())
                found.append(ScanError(where, "deleted", f"cannot list directory: {exc}"))
            count = 0
            while True:
                try:
                    entry = next(entries)
                except StopIteration:
                    break
                except (OSError, RuntimeError) as exc:
                    found.append(
                        ScanError(where, "deleted", f"listing cut after {count} entries: {exc}")
                    )
                    break
                count += 1
                try:
                    walk.visit(entry, rel, found, stack)
                except Exception as exc:  # noqa: BLE001 - one bad entry is one record
                    found.append(
                        ScanError(where, "deleted", f"entry {count}: {type(exc).__name__}: {exc}")
                    )
        yield from found
        if len(walk.visited) > _MAX_DIRS:
            yield ScanError(prefix, "deleted", f"directory limit {_MAX_DIRS} reached")
            return


def entry_name(raw: Any) -> str:
    """A TSK name as provenance text: UTF-8, undecodable bytes kept (surrogateescape)."""
    if isinstance(raw, bytes):
        return raw.decode("utf-8", "surrogateescape")
    return str(raw)


@dataclass
class _Walk:
    tsk: Any
    fs_info: Any
    ftype: int
    prefix: str
    taken: set[str]
    listed: Listed | None
    visited: dict[tuple[str, int], str] = field(default_factory=dict)
    reader: Any = None
    base: int = 0

    def item(self, path: str, meta_addr: int, size: int | None, **fields: Any) -> Item:
        """The item of the file at metadata address ``meta_addr``, opened through the reader."""
        locator = Locator("inode", self.base, meta_addr)
        return Item(path=path, open=self.reader.opener(locator, size), size=size,
                    inode=str(meta_addr), locator=locator, **fields)

    def dir_key(self, meta_addr: int) -> tuple[str, int]:
        """Identity of a directory's content: its first cluster on FAT (entries that
        point at one cluster are one directory), its metadata address elsewhere."""
        if self.ftype in _FAT:
            try:
                meta_file = self.fs_info.open_meta(inode=meta_addr)
                for attr in meta_file:
                    for run in attr:
                        return ("cluster", int(run.addr))
            except (OSError, RuntimeError):
                pass
        return ("inode", meta_addr)

    def visit(
        self, entry: Any, rel: str, found: list[Item | ScanError], stack: list[tuple[int, str]]
    ) -> None:
        info_name = entry.info.name
        name = entry_name(info_name.name)
        if name in (".", ".."):
            return
        child_rel = f"{rel}/{name}" if rel else name
        path = f"{self.prefix}/{child_rel}"
        name_unalloc = bool(int(info_name.flags) & _NAME_UNALLOC)
        meta_addr = int(info_name.meta_addr)
        if 0 < meta_addr < _NTFS_FIRST_USER_ENTRY and self.ftype == _NTFS:
            return  # reserved NTFS system entries show up as empty orphans
        meta = entry.info.meta
        if meta is None and meta_addr:
            # NTFS bumps the sequence number on delete, so TSK does not attach the entry.
            try:
                meta = self.fs_info.open_meta(inode=meta_addr).info.meta
            except (OSError, RuntimeError) as exc:
                if not name_unalloc:
                    found.append(ScanError(path, "deleted", f"metadata {meta_addr}: {exc}"))
                meta = None
        # Metadata reused by a live entry says nothing about this deleted name.
        reused = meta is not None and name_unalloc and bool(int(meta.flags) & _META_ALLOC)
        if meta is not None and not reused:
            kind = int(meta.type)
        else:
            kind = _NAME_TO_META.get(int(info_name.type), _UNDEF)
        if kind in _TYPE_DIR and meta_addr:
            self._directory(meta_addr, child_rel, name_unalloc or reused, found, stack)
            return
        meta_unalloc = meta is not None and bool(int(meta.flags) & _META_UNALLOC)
        if not (name_unalloc or meta_unalloc):
            self._allocated(entry, meta, meta_addr, kind, path, found)
            return
        if kind not in _FILE_TYPES and not (meta_addr == 0 and kind in _TYPE_DIR):
            return  # a deleted directory name without metadata is still a recorded name
        if meta_addr == 0 and path in self.taken:
            # A stale copy of a live name (NTFS index slack): nothing of its own to recover.
            return
        recoverable = meta is not None and meta_addr != 0 and not reused
        if path in self.taken:
            path = f"{path}#{meta_addr}"
        self.taken.add(path)
        size = int(meta.size) if recoverable and meta is not None else None
        times = _times(meta) if meta is not None and not reused else {}
        found.append(self.item(path, meta_addr, size, allocated=False, deleted=True, **times))

    def _directory(
        self,
        meta_addr: int,
        child_rel: str,
        deleted: bool,
        found: list[Item | ScanError],
        stack: list[tuple[int, str]],
    ) -> None:
        key = self.dir_key(meta_addr)
        first = self.visited.get(key)
        if first is None:
            self.visited[key] = child_rel
            stack.append((meta_addr, child_rel))
            return
        path = f"{self.prefix}/{child_rel}"
        # The dfvfs walk records the loops it meets; a deleted name pointing at a
        # directory walked elsewhere is a stale reference, not a loop.
        if not deleted and self.listed is not None and path not in self.listed.paths:
            found.append(ScanError(path, "deleted", skips.loop(f"{self.prefix}/{first}")))

    def _allocated(
        self,
        entry: Any,
        meta: Any,
        meta_addr: int,
        kind: int,
        path: str,
        found: list[Item | ScanError],
    ) -> None:
        """An allocated entry: yielded here only when the dfvfs walk did not know it."""
        listed = self.listed
        if listed is None or path in listed.paths or path in self.taken:
            return
        if self.ftype == _NTFS and str(meta_addr) in listed.inodes:
            return  # the same file under a name TSK spells differently
        if kind in _VIRTUAL or (self.ftype in _FAT and path.endswith(_FAT_LABEL)):
            return
        if kind not in _FILE_TYPES:
            found.append(ScanError(path, "walk", _special_reason(entry, kind)))
            return
        size = int(meta.size) if meta is not None else 0
        self.taken.add(path)
        if listed.note is not None:
            found.append(ScanError(path, "walk", listed.note))
        found.append(self.item(path, meta_addr, size, **(_times(meta) if meta is not None else {})))


def _special_reason(entry: Any, kind: int) -> str:
    if kind == _LNK:
        try:
            target = entry.info.meta.link
            return skips.link(entry_name(target) if target else None)
        except AttributeError:
            return skips.link(None)
    return _SPECIAL.get(kind) or skips.unknown(f"Sleuth Kit type {kind}")


def tsk_extents(tsk: Any, meta_addr: int) -> list[tuple[int, int]]:
    """Byte ranges ``(offset, size)`` in the volume of a TSK file's data runs.

    Call with ``BACKEND_LOCK`` held. Resident data (NTFS) has no runs and gives ``[]``.
    """
    fs_info = tsk.GetFsInfo()
    block = int(fs_info.info.block_size)
    found: list[tuple[int, int]] = []
    try:
        for attr in fs_info.open_meta(inode=meta_addr):
            if int(attr.info.type) not in _DATA_ATTRS:
                continue
            for run in attr:
                if int(run.flags) & _SPARSE_RUN or int(run.len) == 0:
                    continue
                found.append((int(run.addr) * block, int(run.len) * block))
    except (OSError, RuntimeError):
        return found
    return found


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
