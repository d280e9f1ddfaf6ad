"""Open a forensic image's items from their locators.

Every item ``image.py`` lists carries a ``Locator``; its ``open`` is built here from that
locator, and nothing else reads item bytes. A worker process that was handed a unit of
listed items opens the same image with ``open_image`` and re-attaches an opener to each
item from its locator: it never walks the file systems or carves again.

A reader keeps the file systems and volumes it opened for as long as it lives: dfvfs
closes a file system (and the image handles under it) when its last reference goes, and
every opener holds its reader. Every backend call runs under ``spool.BACKEND_LOCK``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pytsk3
from dfvfs.lib import definitions
from dfvfs.path import factory as path_spec_factory
from dfvfs.resolver import resolver

from vigil.model import Item, Locator
from vigil.sources import ewfscan, partitions, verify
from vigil.sources.fatchain import RunsFile
from vigil.sources.image_bases import file_system_bases
from vigil.sources.spool import BACKEND_LOCK, LockedStream

Opener = Callable[[], BinaryIO]


class ImageReader:
    """The file systems and volumes of one image, opened on first use and kept open."""

    def __init__(self, bases: list[Any]) -> None:
        self.bases = bases
        self._vfs: dict[int, Any] = {}
        self._tsk: dict[int, Any | None] = {}
        self._volumes: dict[int, Any] = {}
        self._layers: list[Any] | None = None
        self._layer_files: dict[int, Any] = {}

    def vfs(self, base: int) -> Any:
        """The dfvfs file system of base ``base`` (call with the lock held)."""
        if base not in self._vfs:
            self._vfs[base] = resolver.Resolver.OpenFileSystem(self.bases[base])
        return self._vfs[base]

    def tsk(self, base: int) -> Any | None:
        """The dfvfs TSK file system on base ``base``, or None (call with the lock held)."""
        from vigil.sources.deleted import open_tsk

        if base not in self._tsk:
            self._tsk[base] = open_tsk(self.bases[base])
        return self._tsk[base]

    def volume(self, base: int) -> Any:
        """The volume (file object) holding base ``base`` (call with the lock held)."""
        if base not in self._volumes:
            self._volumes[base] = resolver.Resolver.OpenFileObject(self.bases[base].parent)
        return self._volumes[base]

    def layers(self) -> list[Any]:
        """The image layers that hold a partition table, in the order of the bases."""
        if self._layers is None:
            self._layers = []
            for base in self.bases:
                spec = base.parent
                while (spec is not None
                       and spec.type_indicator != definitions.TYPE_INDICATOR_TSK_PARTITION):
                    spec = spec.parent
                if spec is not None and spec.parent is not None and spec.parent not in self._layers:
                    self._layers.append(spec.parent)
        return self._layers

    def layer(self, number: int) -> Any:
        """The file object of image layer ``number`` (call with the lock held)."""
        if number not in self._layer_files:
            self._layer_files[number] = resolver.Resolver.OpenFileObject(self.layers()[number])
        return self._layer_files[number]

    def opener(self, loc: Locator, size: int | None) -> Opener:
        """An ``Item.open`` for the item at ``loc`` whose stream holds ``size`` bytes."""
        if loc.how == "entry":
            return _locked(lambda: self._entry_file(loc), size)
        if loc.how == "inode":
            return _locked(lambda: _tsk_inode(self.tsk(loc.base), int(loc.key), size), size)
        if loc.how == "tsk-path":
            return _locked(lambda: _tsk_path(self.tsk(loc.base), str(loc.key), size), size)
        # A run list is its own length: a FAT chain's readable prefix, a carved picture.
        length = sum(n for _o, n in loc.runs)
        if loc.how == "runs":
            return _locked(lambda: RunsFile(self.volume(loc.base), loc.runs), length)
        if loc.how == "layer-runs":
            return _locked(lambda: RunsFile(self.layer(loc.base), loc.runs), length)
        raise ValueError(f"no reader for locator kind {loc.how!r} in a dfvfs image")

    def _entry_file(self, loc: Locator) -> Any:
        spec = path_spec_factory.Factory.NewPathSpec(
            str(loc.key), parent=self.bases[loc.base].parent, **dict(loc.spec)
        )
        entry = self.vfs(loc.base).GetFileEntryByPathSpec(spec)
        if entry is None:
            raise OSError("file entry no longer resolves")
        file_object = entry.GetFileObject(data_stream_name=loc.stream)
        if file_object is None:
            raise OSError(f"no data stream {loc.stream!r}")
        return file_object


def entry_locator(base: int, path_spec: Any, stream: str) -> Locator:
    """The locator of a dfvfs file entry's data stream ``stream`` on base ``base``."""
    attrs = path_spec.CopyToDict()
    attrs.pop("parent", None)
    return Locator("entry", base, path_spec.type_indicator, tuple(sorted(attrs.items())), stream)


class RecoveredReader:
    """An E01 read without its chunk table: its partitions' file systems through Sleuth Kit.

    ``base`` in a locator is the partition's position in ``table``.
    """

    def __init__(self, media: ewfscan.RecoveredMedia) -> None:
        self.media = media
        self.image = _RecoveredImage(media)
        table, self.notes = partitions.read_table(media.read, media.media_size)
        self.table = table or [partitions.Partition("", 0, media.size)]
        self._tsk: dict[int, _TskOnImage] = {}

    def tsk(self, base: int) -> _TskOnImage:
        """Sleuth Kit on partition ``base`` (call with the lock held; OSError if unreadable)."""
        if base not in self._tsk:
            fs_info = pytsk3.FS_Info(self.image, offset=self.table[base].offset)
            self._tsk[base] = _TskOnImage(fs_info)
        return self._tsk[base]

    def opener(self, loc: Locator, size: int | None) -> Opener:
        """An ``Item.open`` for the item at ``loc`` (an ``inode`` locator)."""
        if loc.how != "inode":
            raise ValueError(f"no reader for locator kind {loc.how!r} in recovered media")
        return _locked(lambda: _tsk_inode(self.tsk(loc.base), int(loc.key), size), size)


Reader = ImageReader | RecoveredReader


def open_image(path: Path, vss: bool) -> tuple[Reader, list[Any]]:
    """The reader of the image at ``path`` and the records of what it could not open.

    Call with the lock held. A dfvfs image whose scan finds no file system but that is
    an E01 whose chunk table is gone is read as recovered media (``ewfscan``).

    Raises:
        Exception: whatever the backend raises when the image cannot be opened at all.
    """
    bases, notes = file_system_bases(path, vss)
    no_file_system = not any(b.type_indicator != definitions.TYPE_INDICATOR_OS for b in bases)
    if no_file_system and verify.is_ewf(path):
        recovered = ewfscan.recover(path)
        if recovered is not None:
            return RecoveredReader(recovered), notes
    return ImageReader(bases), notes


def reattach(reader: Reader, item: Item) -> Item:
    """``item`` (listed by another process, without its opener) with its opener again."""
    from dataclasses import replace

    if item.locator is None:
        raise ValueError(f"{item.path}: listed without a locator")
    return replace(item, open=reader.opener(item.locator, item.size))


def _locked(backend: Callable[[], Any], size: int | None) -> Opener:
    def open_() -> BinaryIO:
        if size is None:
            return io.BytesIO(b"")
        return LockedStream(backend, size, BACKEND_LOCK)  # type: ignore[return-value]

    return open_


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


def _tsk_inode(tsk: Any, meta_addr: int, size: int | None) -> _TskFile:
    if tsk is None:
        raise OSError("Sleuth Kit cannot read this file system")
    return _TskFile(tsk.GetFsInfo().open_meta(inode=meta_addr), size or 0)


def _tsk_path(tsk: Any, path: str, size: int | None) -> _TskFile:
    if tsk is None:
        raise OSError("Sleuth Kit cannot read this file system")
    return _TskFile(tsk.GetFsInfo().open(path), size or 0)


class _RecoveredImage(pytsk3.Img_Info):
    """Sleuth Kit image over recovered E01 media (the reader keeps it alive)."""

    def __init__(self, media: ewfscan.RecoveredMedia) -> None:
        self._media = media
        super().__init__(url="", type=pytsk3.TSK_IMG_TYPE_EXTERNAL)

    def close(self) -> None:
        pass

    def read(self, offset: int, size: int) -> bytes:
        return self._media.read(offset, size)

    def get_size(self) -> int:
        return self._media.size


@dataclass
class _TskOnImage:
    """The one call ``deleted.py`` makes on a dfvfs TSK file system, over plain pytsk3."""

    fs_info: Any

    def GetFsInfo(self) -> Any:  # noqa: N802 - dfvfs's name
        return self.fs_info
