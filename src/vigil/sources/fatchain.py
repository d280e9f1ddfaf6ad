"""The readable prefix of a FAT file whose cluster chain is broken (a cycle, a bad entry).

libfsfat refuses such a file as a whole and Sleuth Kit reads nothing of it. The chain is
followed here from the file's directory entry, cluster by cluster, until it loops, ends,
or leaves the volume; the clusters reached before that are the prefix, read as they lie.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

_EOC = {12: 0xFF8, 16: 0xFFF8, 32: 0x0FFFFFF8}


@dataclass(frozen=True)
class Chain:
    """Volume byte runs ``(offset, size)`` of a file's readable prefix, and why the chain
    stopped short of the file size (``""`` when it did not)."""

    runs: tuple[tuple[int, int], ...]
    readable: int
    reason: str


def follow(volume: Any, entry_offset: int, size: int) -> Chain:
    """Follow the chain of the file whose 32-byte directory entry is at ``entry_offset``.

    Args:
        volume: A seekable stream of the FAT volume (seek/read).
        entry_offset: Byte offset of the file's short directory entry in the volume
            (libfsfat's identifier of the entry).
        size: The file size the directory entry records.

    Returns:
        The runs of the prefix (at most ``size`` bytes) and why the chain stopped.
    """
    volume.seek(0)
    boot = volume.read(512)
    bps, spc, reserved, nfats, root_entries, total16 = struct.unpack_from("<HBHBHH", boot, 11)
    fat_sectors = struct.unpack_from("<H", boot, 22)[0] or struct.unpack_from("<L", boot, 36)[0]
    total = total16 or struct.unpack_from("<L", boot, 32)[0]
    root_sectors = (root_entries * 32 + bps - 1) // bps
    data_start = (reserved + nfats * fat_sectors + root_sectors) * bps
    clusters = (total * bps - data_start) // (spc * bps)
    bits = 12 if clusters < 4085 else 16 if clusters < 65525 else 32
    volume.seek(reserved * bps)
    fat = volume.read(fat_sectors * bps)
    volume.seek(entry_offset)
    entry = volume.read(32)
    hi = struct.unpack_from("<H", entry, 20)[0] if bits == 32 else 0
    cluster = hi << 16 | struct.unpack_from("<H", entry, 26)[0]
    cluster_bytes = spc * bps
    runs: list[tuple[int, int]] = []
    seen: set[int] = set()
    readable, reason = 0, ""
    while readable < size:
        if not 2 <= cluster < clusters + 2:
            reason = f"chain leaves the volume at cluster {cluster}"
            break
        if cluster in seen:
            reason = f"chain loops back to cluster {cluster}"
            break
        seen.add(cluster)
        length = min(cluster_bytes, size - readable)
        offset = data_start + (cluster - 2) * cluster_bytes
        if runs and runs[-1][0] + runs[-1][1] == offset:
            runs[-1] = (runs[-1][0], runs[-1][1] + length)
        else:
            runs.append((offset, length))
        readable += length
        nxt = _next(fat, cluster, bits)
        if nxt is None or nxt >= _EOC[bits]:
            if readable < size:
                reason = f"chain ends at cluster {cluster}"
            break
        cluster = nxt
    return Chain(tuple(runs), readable, reason)


def _next(fat: bytes, cluster: int, bits: int) -> int | None:
    if bits == 12:
        at = cluster + cluster // 2
        if at + 2 > len(fat):
            return None
        value = struct.unpack_from("<H", fat, at)[0]
        return value >> 4 if cluster & 1 else value & 0xFFF
    width = bits // 8
    if (cluster + 1) * width > len(fat):
        return None
    if bits == 16:
        return struct.unpack_from("<H", fat, cluster * 2)[0]
    return struct.unpack_from("<L", fat, cluster * 4)[0] & 0x0FFFFFFF


def first_bytes(runs: tuple[tuple[int, int], ...], length: int) -> tuple[tuple[int, int], ...]:
    """The leading runs that hold the first ``length`` bytes (the last one cut to fit)."""
    kept: list[tuple[int, int]] = []
    left = length
    for offset, size in runs:
        if left <= 0:
            break
        kept.append((offset, min(size, left)))
        left -= size
    return tuple(kept)


class RunsFile:
    """seek/read over a list of volume byte runs, as one stream (a LockedStream backend)."""

    def __init__(self, volume: Any, runs: tuple[tuple[int, int], ...]) -> None:
        self._volume = volume
        self._runs = runs
        self._pos = 0

    def seek(self, offset: int, whence: int = 0) -> int:
        self._pos = offset
        return offset

    def tell(self) -> int:
        return self._pos

    def read(self, size: int = -1) -> bytes:
        out = bytearray()
        start = 0
        for offset, length in self._runs:
            if size >= 0 and len(out) >= size:
                break
            if self._pos < start + length:
                skip = max(0, self._pos - start)
                want = length - skip if size < 0 else min(length - skip, size - len(out))
                self._volume.seek(offset + skip)
                data = self._volume.read(want)
                out += data
                self._pos += len(data)
                if len(data) < want:
                    break
            start += length
        return bytes(out)
