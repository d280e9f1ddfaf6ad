"""OLE2 compound files (``Thumbs.db``, legacy Office): pictures inside their streams.

A minimal compound-file reader of our own (header, DIFAT, FAT, directory, mini stream).
Each stream is carved for whole JPEG/PNG/GIF files; in ``Thumbs.db`` every thumbnail
stream holds one JPEG after a short header. Children are
``parent!<stream name>@<offset in stream>``, ``embedded=True``.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from typing import BinaryIO

from vigil.model import Item, ScanError
from vigil.sources.carve import carve
from vigil.sources.expand import Budget, Member, embedded, read_whole, register

STAGE = "expand.ole"
_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
_END = 0xFFFFFFFE
_FREE = 0xFFFFFFFF
_MAX_SECTORS = 1 << 24


class CompoundFile:
    """Read-only view of an OLE2 compound file held in memory."""

    def __init__(self, data: bytes) -> None:
        if data[:8] != _MAGIC or len(data) < 512:
            raise ValueError("not an OLE2 compound file")
        self.data = data
        self.sector = 1 << struct.unpack_from("<H", data, 30)[0]
        self.mini = 1 << struct.unpack_from("<H", data, 32)[0]
        if self.sector not in (512, 4096) or self.mini != 64:
            raise ValueError("unsupported sector sizes")
        n_fat, first_dir = struct.unpack_from("<II", data, 44)
        self.cutoff, first_minifat, _n_minifat, first_difat, _n_difat = struct.unpack_from(
            "<IIIII", data, 56
        )
        fat_sectors = [s for s in struct.unpack_from("<109I", data, 76) if s < _END]
        seen: set[int] = set()
        difat = first_difat
        per = self.sector // 4 - 1
        while difat < _END and difat not in seen and len(seen) < _MAX_SECTORS:
            seen.add(difat)
            values = struct.unpack_from(f"<{per + 1}I", self._sector(difat))
            fat_sectors += [s for s in values[:per] if s < _END]
            difat = values[per]
        fat_bytes = b"".join(self._sector(s) for s in fat_sectors[: max(n_fat, len(fat_sectors))])
        self.fat = list(struct.unpack(f"<{len(fat_bytes) // 4}I", fat_bytes))
        directory = self._chain_bytes(first_dir, self.fat, self._sector)
        self.entries = [directory[i : i + 128] for i in range(0, len(directory) - 127, 128)]
        root = self.entries[0]
        self.ministream = self._chain_bytes(
            struct.unpack_from("<I", root, 116)[0], self.fat, self._sector
        )[: struct.unpack_from("<Q", root, 120)[0]]
        minifat = self._chain_bytes(first_minifat, self.fat, self._sector)
        self.minifat = list(struct.unpack(f"<{len(minifat) // 4}I", minifat))

    def _sector(self, n: int) -> bytes:
        start = (n + 1) * self.sector
        return self.data[start : start + self.sector]

    def _mini_sector(self, n: int) -> bytes:
        return self.ministream[n * self.mini : (n + 1) * self.mini]

    def _chain_bytes(self, first: int, fat: list[int], read: object) -> bytes:
        out = []
        seen: set[int] = set()
        sector = first
        while sector < _END and sector < len(fat) + 1 and sector not in seen:
            seen.add(sector)
            out.append(read(sector))  # type: ignore[operator]
            if sector >= len(fat):
                break
            sector = fat[sector]
        return b"".join(out)

    def streams(self) -> Iterator[tuple[str, bytes]]:
        """Yield ``(name, bytes)`` of every stream (names as stored, flat)."""
        for entry in self.entries[1:]:
            if entry[66] != 2:
                continue
            name_len = struct.unpack_from("<H", entry, 64)[0]
            name = entry[: max(0, name_len - 2)].decode("utf-16-le", "replace")
            start, size = struct.unpack_from("<IQ", entry, 116)
            if self.sector == 512:
                size &= 0xFFFFFFFF
            if size < self.cutoff:
                data = self._chain_bytes(start, self.minifat, self._mini_sector)
            else:
                data = self._chain_bytes(start, self.fat, self._sector)
            yield name, data[:size]


def expand_ole(item: Item, stream: BinaryIO, budget: Budget) -> Iterator[Member | ScanError]:
    """Yield the pictures carved from each stream of an OLE2 file (e.g. Thumbs.db).

    Args:
        item: The OLE2 item.
        stream: Its bytes (parsed in memory).
        budget: The top-level item's budget.

    Returns:
        An iterator of embedded ``Member``s (``stream name@offset in stream``) and
        ``ScanError``s.
    """
    data = read_whole(item, stream, STAGE)
    if isinstance(data, ScanError):
        yield data
        return
    try:
        compound = CompoundFile(data)
        streams = list(compound.streams())
    except (ValueError, struct.error, IndexError) as exc:
        yield ScanError(item.path, STAGE, f"not a readable OLE2 file: {exc}")
        return
    for name, blob in streams:
        for offset, length, _kind in carve(io.BytesIO(blob), 0, len(blob)):
            yield embedded(blob[offset : offset + length], offset, name)


register(("application/x-ole-storage",), expand_ole)
