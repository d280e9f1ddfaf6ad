"""Forensic disk images through dfvfs: every regular file, then deleted and carved data.

``iter_image`` runs the dfvfs volume scanner (no mediator, every partition and volume,
VSS stores on request) and walks each file system it finds. Provenance paths are
``<volume>/<FS>/<path in fs>``: volume ``p1``, ``p2`` ... for partitions, ``lvm1`` for
LVM, ``vss1`` for a VSS store, ``apfs1`` for an APFS container volume (nested volumes
are joined with ``/``, e.g. ``p2/vss1``), and no volume part when the file system sits
directly on the image. NTFS alternate data streams and HFS forks are ``path:stream``.

What is not an item: directories, links, NTFS metadata files (MFT entries 0-23 and the
``$Extend`` tree; carving covers their space if needed) and TSK's virtual
``$OrphanFiles`` directory (``deleted.py`` walks orphans itself).

Every backend call runs under ``spool.BACKEND_LOCK``: dfvfs and libyal handles are not
known to be thread-safe, and ``Item.open()`` streams are read from worker threads while
this generator goes on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dfvfs.lib import definitions
from dfvfs.path import factory as path_spec_factory
from dfvfs.resolver import resolver
from dfvfs.volume import gpt_volume_system, tsk_volume_system

from vigil.model import STREAM_SEP, Item, Locator, ScanError
from vigil.sources import deleted as deleted_mod
from vigil.sources import fatchain, skips, verify
from vigil.sources.image_bases import file_system_bases
from vigil.sources.image_read import ImageReader, RecoveredReader, entry_locator, open_image
from vigil.sources.spool import BACKEND_LOCK
from vigil.sources.verify import MediaCheck

# Volume-system layers whose location names a volume (``/p1``, ``/lvm1``, ``/vss1`` ...).
_VOLUME_TYPES = frozenset(
    {
        definitions.TYPE_INDICATOR_TSK_PARTITION,
        definitions.TYPE_INDICATOR_GPT,
        definitions.TYPE_INDICATOR_LVM,
        definitions.TYPE_INDICATOR_VSHADOW,
        definitions.TYPE_INDICATOR_APFS_CONTAINER,
        definitions.TYPE_INDICATOR_CS,
    }
)

_DFVFS_FS_NAMES = {
    definitions.TYPE_INDICATOR_NTFS: "NTFS",
    definitions.TYPE_INDICATOR_EXT: "EXT",
    definitions.TYPE_INDICATOR_HFS: "HFS",
    definitions.TYPE_INDICATOR_APFS: "APFS",
    definitions.TYPE_INDICATOR_XFS: "XFS",
    definitions.TYPE_INDICATOR_FAT: "FAT",
}

# Storage-media layers: offsets in the media are offsets in these.
_MEDIA_TYPES = frozenset(
    {
        definitions.TYPE_INDICATOR_EWF,
        definitions.TYPE_INDICATOR_RAW,
        definitions.TYPE_INDICATOR_QCOW,
        definitions.TYPE_INDICATOR_VHDI,
        definitions.TYPE_INDICATOR_VMDK,
        definitions.TYPE_INDICATOR_OS,
    }
)

_NTFS_FIRST_USER_ENTRY = 24  # MFT entries 0-23 are file-system metadata
_NTFS_EXTEND_ENTRY = 11
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UNREADABLE_MFT = "MFT entry unreadable by libfsntfs (dfvfs gives it entry 0)"


def iter_image(
    path: Path, *, vss: bool = False, carve: bool = False, media: MediaCheck | None = None
) -> Iterator[Item | ScanError]:
    """Yield every regular file, deleted entry and (optionally) carved picture of an image.

    Args:
        path: The image, or the first segment of a split image (``.E01``, ``.000``).
        vss: Also walk each VSS store, each under its own ``vssN`` volume prefix.
        carve: Also carve JPEG/PNG/GIF from unallocated space of each file system and
            from space outside any partition.
        media: The image's integrity pass (``verify.check_media``). Each item whose
            bytes overlap a chunk that failed its checksum gets an ``integrity`` record
            right after it; a bad chunk no item overlaps gets one at the image; a hash
            that is not verified gets one at the image.

    Returns:
        An iterator of ``Item`` (allocated files first per file system, then deleted,
        then carved) and ``ScanError`` for whatever could not be read.
    """
    path = Path(path)
    where = path.name
    if not path.is_file():
        yield ScanError(where, "open", f"not a file: {path}")
        return
    try:
        with BACKEND_LOCK:
            reader, notes = open_image(path, vss)
    except Exception as exc:  # noqa: BLE001 - any backend failure is a recorded error
        yield ScanError(where, "open", f"cannot open image: {type(exc).__name__}: {exc}")
        return
    yield from notes
    if media is not None and media.hash_status != "verified":
        yield ScanError(where, "integrity", media.summary())
    if isinstance(reader, RecoveredReader):
        yield from _iter_recovered(reader, where)
        return
    bases = reader.bases
    if not any(b.type_indicator != definitions.TYPE_INDICATOR_OS for b in bases):
        yield ScanError(where, "open", "no file system found in the image")
    hit: set[tuple[int, int]] = set()
    for index, base in enumerate(bases):
        if base.type_indicator == definitions.TYPE_INDICATOR_OS:
            continue
        bad = None
        if media is not None and media.bad_ranges:
            with BACKEND_LOCK:
                bad = _BadBytes.on(base, media.bad_ranges, hit)
            if bad is None:
                yield ScanError(volume_prefix(base) or where, "integrity",
                                "cannot map this volume's bytes to the media: items over bad"
                                " chunks are not flagged")
        yield from _iter_file_system(reader, index, carve, bad)
    for offset, size in media.bad_ranges if media is not None else ():
        if (offset, size) not in hit:
            yield ScanError(where, "integrity", verify.bad_chunk_reason(offset, size)
                            + "; no listed item lies over it (file-system metadata or free"
                            " space)")
    if carve:
        from vigil.sources import carve as carve_mod

        yield from carve_mod.carve_unpartitioned(reader)


def _iter_recovered(reader: RecoveredReader, where: str) -> Iterator[Item | ScanError]:
    """The file systems of an E01 read without its chunk table, through Sleuth Kit."""
    media = reader.media
    yield ScanError(where, "open", f"EWF chunk table missing (segment cut short):"
                    f" {len(media.chunks)} chunks, {media.size} of {media.media_size} media"
                    " bytes, read in order from the sectors section")
    yield from (ScanError(where, "open", note) for note in reader.notes)
    for index, part in enumerate(reader.table):
        if part.offset >= media.size:
            yield ScanError(part.name or where, "open", "partition starts past the recovered"
                            " media: nothing to read")
            continue
        try:
            with BACKEND_LOCK:
                tsk = reader.tsk(index)
        except OSError as exc:
            yield ScanError(part.name or where, "open", f"no file system readable: {exc}")
            continue
        name = deleted_mod.tsk_fs_name(int(tsk.GetFsInfo().info.ftype)) or "FS"
        prefix = f"{part.name}/{name}" if part.name else name
        yield from deleted_mod.iter_deleted(
            reader, index, prefix, set(), deleted_mod.Listed(note=None)
        )


def holds_file_system(path: Path) -> bool:
    """Whether dfvfs finds at least one file system in the file at ``path``."""
    try:
        with BACKEND_LOCK:
            bases, _notes = file_system_bases(Path(path), False)
    except Exception:  # noqa: BLE001 - not an image dfvfs can read: a loose file
        return False
    return any(b.type_indicator != definitions.TYPE_INDICATOR_OS for b in bases)


def volume_prefix(base: Any) -> str:
    """The volume part of provenance for a dfvfs base path spec, e.g. ``p1`` or ``p2/vss1``.

    Args:
        base: A dfvfs path spec of a file system.

    Returns:
        The volume names from outermost to innermost joined by ``/``; ``""`` if none.
    """
    names: list[str] = []
    spec = base.parent
    while spec is not None:
        if getattr(spec, "vigil_volume", None):
            names.append(spec.vigil_volume)
        elif spec.type_indicator in _VOLUME_TYPES:
            location = getattr(spec, "location", None) or ""
            names.append(location.strip("/") or spec.type_indicator.lower())
        spec = spec.parent
    return "/".join(reversed(names))


def fs_name(base: Any, fs_info: Any | None) -> str:
    """Upper-case file-system name for provenance (NTFS, FAT12, FAT32, EXFAT, EXT ...).

    Args:
        base: The dfvfs base path spec.
        fs_info: The pytsk3 ``FS_Info`` on the same base, if TSK could open it.

    Returns:
        The file-system name.
    """
    if fs_info is not None:
        name = deleted_mod.tsk_fs_name(int(fs_info.info.ftype))
        if name:
            return name
    return _DFVFS_FS_NAMES.get(base.type_indicator, base.type_indicator.upper())


def _iter_file_system(
    reader: ImageReader, index: int, carve: bool, bad: _BadBytes | None = None
) -> Iterator[Item | ScanError]:
    base = reader.bases[index]
    volume = volume_prefix(base)
    with BACKEND_LOCK:
        tsk = reader.tsk(index)
    fs_info = tsk.GetFsInfo() if tsk is not None else None
    name = fs_name(base, fs_info)
    prefix = f"{volume}/{name}" if volume else name
    taken: set[str] = set()
    listed = deleted_mod.Listed()
    for entry in _walk(reader, index, prefix, name, listed, bad, tsk):
        if isinstance(entry, Item):
            taken.add(entry.path)
            if entry.inode is not None:
                listed.inodes.add(entry.inode)
        yield entry
    if tsk is not None:
        for entry in deleted_mod.iter_deleted(reader, index, prefix, taken, listed):
            yield entry
            if bad is not None and isinstance(entry, Item) and entry.size:
                with BACKEND_LOCK:
                    extents = deleted_mod.tsk_extents(tsk, int(entry.inode or 0))
                yield from bad.records(entry.path, extents)
    if carve:
        from vigil.sources import carve as carve_mod

        yield from carve_mod.carve_file_system(reader, index, name, prefix)


def _walk(
    reader: ImageReader,
    index: int,
    prefix: str,
    name: str,
    listed: Any,
    bad: _BadBytes | None = None,
    tsk: Any | None = None,
) -> Iterator[Item | ScanError]:
    """The dfvfs walk: every entry its own try, directory loops recorded, not followed.

    A listing that breaks off (libyal cannot decode an entry) is recorded at the
    directory; Sleuth Kit's walk (``deleted.iter_deleted``) then yields the files of
    that directory that this walk could not reach.
    """
    base = reader.bases[index]
    try:
        with BACKEND_LOCK:
            vfs = reader.vfs(index)
            root = vfs.GetRootFileEntry()
    except Exception as exc:  # noqa: BLE001
        yield ScanError(prefix, "walk", f"cannot open file system: {type(exc).__name__}: {exc}")
        return
    if root is None:
        yield ScanError(prefix, "walk", "cannot open file system root")
        return
    stack: list[tuple[Any, str]] = [(root, "")]
    # Directory identity -> first path walked. Identity is the inode / MFT entry; on FAT
    # (where dfvfs identifies entries by where their directory entry lies) the first
    # child's identity, i.e. where the directory's own clusters are.
    seen_dirs: dict[str, str] = {}
    while stack:
        directory, rel = stack.pop()
        where = f"{prefix}/{rel}" if rel else prefix
        walk = _DirectoryWalk(vfs, rel, prefix, name, listed)
        walk.bad, walk.tsk, walk.volume = bad, tsk, base.parent
        walk.reader, walk.base_index = reader, index
        with BACKEND_LOCK:
            walk.list(directory)
        content_key = walk.first_child
        if name.startswith("FAT") and content_key is not None:
            first = seen_dirs.get(content_key)
            if first is not None:
                yield ScanError(where, "walk", skips.loop(_where(prefix, first)))
                continue
            seen_dirs[content_key] = rel
        yield from walk.found
        for sub, sub_rel in reversed(walk.subdirs):
            key = _identity(sub)
            first = seen_dirs.get(key) if key is not None else None
            if first is not None:
                yield ScanError(_where(prefix, sub_rel), "walk", skips.loop(_where(prefix, first)))
                continue
            if key is not None:
                seen_dirs[key] = sub_rel
            stack.append((sub, sub_rel))


def _where(prefix: str, rel: str) -> str:
    return f"{prefix}/{rel}" if rel else prefix


def _identity(entry: Any) -> str | None:
    spec = entry.path_spec
    if spec.type_indicator == definitions.TYPE_INDICATOR_FAT:
        return None  # the entry's own location, not its directory's: see _walk
    for attr in ("mft_entry", "inode", "identifier"):
        value = getattr(spec, attr, None)
        if value is not None:
            return f"{attr}:{value}"
    return None


def _inode(entry: Any) -> str | None:
    spec = entry.path_spec
    for attr in ("mft_entry", "inode", "identifier"):
        value = getattr(spec, attr, None)
        if value is not None:
            return str(value)
    return None


def _skip(entry: Any, rel: str, name: str) -> bool:
    spec = entry.path_spec
    if name == "NTFS":
        mft = getattr(spec, "mft_entry", None)
        if mft is not None and (mft < _NTFS_FIRST_USER_ENTRY or mft == _NTFS_EXTEND_ENTRY):
            return True
    # TSK's virtual directory of orphans: deleted.py yields those.
    return spec.type_indicator == definitions.TYPE_INDICATOR_TSK and not rel and (
        entry.name == "$OrphanFiles"
    )


class _DirectoryWalk:
    """The entries of one directory as the dfvfs walk sees them (call with the lock)."""

    def __init__(self, vfs: Any, rel: str, prefix: str, fs: str, listed: Any) -> None:
        self.vfs, self.rel, self.prefix, self.fs, self.listed = vfs, rel, prefix, fs, listed
        self.found: list[Item | ScanError] = []
        self.subdirs: list[tuple[Any, str]] = []
        self.first_child: str | None = None
        self.bad: _BadBytes | None = None
        self.tsk: Any | None = None
        self.volume: Any | None = None
        self.reader: ImageReader | None = None
        self.base_index = 0

    def list(self, directory: Any) -> None:
        where = _where(self.prefix, self.rel)
        count = 0
        try:
            entries = iter(directory.sub_file_entries)
            while True:
                try:
                    entry = next(entries)
                except StopIteration:
                    return
                count += 1
                if self.first_child is None:
                    self.first_child = str(_inode(entry))
                self.visit(entry)
        except Exception as exc:  # noqa: BLE001 - a broken listing is one record
            reason = f"cannot list directory: {exc}" if count == 0 else (
                f"listing cut after {count} entries: {exc}"
            )
            self.found.append(ScanError(where, "walk", reason))

    def visit(self, entry: Any) -> None:
        try:
            entry_name = entry.name
        except Exception as exc:  # noqa: BLE001
            raise OSError(f"unreadable entry name: {exc}") from exc
        if not entry_name.isascii():
            entry_name = canonical(entry_name)
        child_rel = f"{self.rel}/{entry_name}" if self.rel else entry_name
        where = f"{self.prefix}/{child_rel}"
        if self.fs == "NTFS" and entry.path_spec.mft_entry == 0 and entry_name != "$MFT":
            # libfsntfs could not read the entry's MFT record (bad signature or fixups)
            # and reports entry 0: record it and leave it to the Sleuth Kit walk.
            self.found.append(ScanError(where, "walk", _UNREADABLE_MFT))
            return
        self.listed.paths.add(where)
        try:
            self._visit(entry, child_rel, where)
        except Exception as exc:  # noqa: BLE001 - one bad entry is one record
            self.found.append(ScanError(where, "walk", f"cannot read entry: {exc}"))

    def _visit(self, entry: Any, child_rel: str, where: str) -> None:
        if _skip(entry, self.rel, self.fs):
            return
        if entry.IsDirectory():
            self.subdirs.append((entry, child_rel))
            return
        reason = _not_a_file(entry)
        if reason is not None:
            self.found.append(ScanError(where, "walk", reason))
            return
        times = _times(entry)
        inode = _inode(entry)
        by_fat: Locator | None = None
        self.chain_runs: tuple[tuple[int, int], ...] = ()
        if self.fs.startswith("FAT") and entry.size:
            by_fat = self._check_fat_chain(entry, child_rel, where)
        streams = list(entry.data_streams) or [None]
        for stream in streams:
            stream_name = (stream.name or "") if stream is not None else ""
            if stream_name:
                size = _stream_size(entry, stream_name)
                item_path = f"{where}{STREAM_SEP}{stream_name}"
            else:
                size = int(entry.size or 0)
                item_path = where
            locator = by_fat if by_fat is not None and not stream_name else entry_locator(
                self.base_index, entry.path_spec, stream_name
            )
            assert self.reader is not None
            self.found.append(
                Item(
                    path=item_path,
                    open=self.reader.opener(locator, size),
                    size=size,
                    inode=inode,
                    locator=locator,
                    **times,
                )
            )
            if self.bad is not None and stream is not None and size:
                # A chain libfsfat refuses has no extents there: use the FAT's own.
                extents = _extents(stream) or list(self.chain_runs)
                self.found += self.bad.records(item_path, extents)


    def _check_fat_chain(self, entry: Any, child_rel: str, where: str) -> Locator | None:
        """Record a FAT cluster chain libfsfat cannot follow to the file's size; return a
        Sleuth Kit locator when its chain is short (libfsfat misreads some FAT12 chains)."""
        size = int(entry.size)
        try:
            covered = sum(int(e.size) for e in entry.GetExtents())
        except Exception as exc:  # noqa: BLE001 - a cycle, or clusters past the end
            return self._fat_prefix(entry, size, where, exc)
        if covered >= size:
            return None
        if self.tsk is None:
            self.found.append(ScanError(where, "walk", f"cluster chain covers {covered} of"
                                        f" {size} bytes"))
            return None
        self.found.append(ScanError(where, "walk", f"cluster chain as libfsfat reads it covers"
                                    f" {covered} of {size} bytes: content read through Sleuth"
                                    " Kit"))
        return Locator("tsk-path", self.base_index, "/" + child_rel)

    def _fat_prefix(self, entry: Any, size: int, where: str, exc: Exception) -> Locator | None:
        """Record a chain libfsfat refuses; a locator of its readable prefix, if any."""
        identifier = getattr(entry.path_spec, "identifier", None)
        chain = None
        if self.volume is not None and identifier is not None:
            try:
                volume = resolver.Resolver.OpenFileObject(self.volume)
                chain = fatchain.follow(volume, int(identifier), size)
            except Exception:  # noqa: BLE001 - no prefix then, the record stands
                chain = None
        if chain is None or not chain.readable:
            self.found.append(ScanError(where, "walk", f"cluster chain unreadable: {exc}"))
            return None
        if chain.readable < size:
            text = f"{chain.reason}; the first {chain.readable} of {size} bytes are read"
        else:  # the FAT is whole: libfsfat failed on clusters it cannot read
            text = f"{exc}; read cluster by cluster from the FAT instead"
        self.found.append(ScanError(where, "walk", f"cluster chain unreadable: {text}"))
        self.chain_runs = chain.runs
        return Locator("runs", self.base_index, runs=fatchain.first_bytes(chain.runs,
                                                                           chain.readable))


def _extents(stream: Any) -> list[tuple[int, int]]:
    """Byte ranges ``(offset, size)`` of a dfvfs data stream in its volume (no sparse runs)."""
    try:
        extents = stream.GetExtents()
    except Exception:  # noqa: BLE001 - unreadable runs: the read will say so
        return []
    return [(int(e.offset), int(e.size)) for e in extents
            if e.extent_type != definitions.EXTENT_TYPE_SPARSE]


@dataclass
class _BadBytes:
    """The media's bad-chunk ranges as seen from one volume that starts at ``offset``."""

    ranges: tuple[tuple[int, int], ...]
    offset: int
    hit: set[tuple[int, int]]

    @classmethod
    def on(
        cls, base: Any, ranges: tuple[tuple[int, int], ...], hit: set[tuple[int, int]]
    ) -> _BadBytes | None:
        """For the file system ``base``, or None when its bytes do not map linearly."""
        offset = _media_offset(base)
        return None if offset is None else cls(ranges, offset, hit)

    def records(self, item_path: str, extents: list[tuple[int, int]]) -> list[ScanError]:
        """An ``integrity`` record per bad chunk the item's extents overlap."""
        found = []
        for start, size in self.ranges:
            if any(start < self.offset + o + n and self.offset + o < start + size
                   for o, n in extents):
                self.hit.add((start, size))
                found.append(ScanError(item_path, "integrity",
                                       verify.bad_chunk_reason(start, size)))
        return found


def _media_offset(base: Any) -> int | None:
    """Byte offset of a file system's volume in the media, or None (LVM, VSS ...)."""
    offset = 0
    spec = base.parent
    while spec is not None and spec.type_indicator not in _MEDIA_TYPES:
        kind = spec.type_indicator
        if kind == definitions.TYPE_INDICATOR_DATA_RANGE:
            offset += int(spec.range_offset)
        elif kind in (definitions.TYPE_INDICATOR_TSK_PARTITION, definitions.TYPE_INDICATOR_GPT):
            start = _partition_start(spec)
            if start is None:
                return None
            offset += start
        else:
            return None
        spec = spec.parent
    return offset


def _partition_start(spec: Any) -> int | None:
    system = (tsk_volume_system.TSKVolumeSystem()
              if spec.type_indicator == definitions.TYPE_INDICATOR_TSK_PARTITION
              else gpt_volume_system.GPTVolumeSystem())
    try:
        system.Open(path_spec_factory.Factory.NewPathSpec(
            spec.type_indicator, location="/", parent=spec.parent))
        volume = system.GetVolumeByIdentifier((spec.location or "").strip("/"))
    except Exception:  # noqa: BLE001
        return None
    if volume is None or not volume.extents:
        return None
    return int(volume.extents[0].offset)


def canonical(name: str) -> str:
    """``name`` rebuilt as an ordinary Python string.

    libfsntfs hands back a name holding a lone surrogate (an NTFS name that is not valid
    UTF-16) as a wide string that CPython never compares equal to the same text built
    any other way, so such a path would miss every dict and set lookup (resume, dedup).
    """
    return name.encode("utf-8", "surrogatepass").decode("utf-8", "surrogatepass")


def _not_a_file(entry: Any) -> str | None:
    """Why an entry that is not a directory is not read as a file, or None for a file."""
    if entry.IsLink():
        try:
            target = entry.link or None
        except Exception:  # noqa: BLE001
            target = None
        return skips.link(target)
    if entry.IsPipe():
        return skips.FIFO
    if entry.IsSocket():
        return skips.SOCKET
    if entry.IsDevice():
        return skips.special("device")
    if not entry.IsFile():
        return skips.unknown(f"dfvfs type {entry.entry_type!r}")
    return None


def _stream_size(entry: Any, stream_name: str) -> int:
    file_object = entry.GetFileObject(data_stream_name=stream_name)
    if file_object is None:
        return 0
    return int(file_object.get_size())


def _times(entry: Any) -> dict[str, datetime | None]:
    return {
        "created": _to_datetime(getattr(entry, "creation_time", None)),
        "modified": _to_datetime(getattr(entry, "modification_time", None)),
        "accessed": _to_datetime(getattr(entry, "access_time", None)),
        "changed": _to_datetime(getattr(entry, "change_time", None)),
    }


def _to_datetime(value: Any) -> datetime | None:
    """A dfdatetime value as an aware UTC datetime (FAT local times are taken as UTC)."""
    if value is None:
        return None
    try:
        micros = value.GetPlasoTimestamp()
    except (AttributeError, ValueError, OverflowError):
        return None
    if micros is None:
        return None
    try:
        return _EPOCH + timedelta(microseconds=int(micros))
    except OverflowError:
        return None


def image_layer(base: Any) -> Any | None:
    """The storage-media path spec under a base's volume layers (EWF, QCOW, RAW ...).

    Args:
        base: A dfvfs base path spec.

    Returns:
        The path spec of the whole image, or None if the chain has no such layer.
    """
    spec = base
    while spec is not None and spec.parent is not None:
        if spec.type_indicator in _VOLUME_TYPES or spec is base:
            spec = spec.parent
            continue
        return spec
    return None


def new_path_spec(type_indicator: str, parent: Any, **kwargs: Any) -> Any:
    """Build a dfvfs path spec (a thin pass-through kept here so callers share one import).

    Args:
        type_indicator: dfvfs type indicator.
        parent: Parent path spec.
        **kwargs: Attributes of the new path spec.

    Returns:
        The path spec.
    """
    return path_spec_factory.Factory.NewPathSpec(type_indicator, parent=parent, **kwargs)
