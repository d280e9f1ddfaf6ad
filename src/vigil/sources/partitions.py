"""Partition tables read directly, for images that dfvfs's volume scanner gives up on.

The scanner fails on the whole image when one partition cannot be opened (one that
starts past the end of a truncated image, a GPT whose primary header is damaged).
``read_table`` reads the primary MBR entries and the GPT (primary header, else the
backup one at the last sector) and returns every partition with its byte range, plus
the reasons for everything it cut or could not use. ``image.py`` then scans each
partition on its own, clamped to the bytes the image holds.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

SECTOR = 512
_GPT_SIGNATURE = b"EFI PART"
_EXTENDED = {0x05, 0x0F, 0x85}
_PROTECTIVE = 0xEE

Reader = Callable[[int, int], bytes]


@dataclass(frozen=True)
class Partition:
    """One partition: provenance name (``p1`` ...), byte offset and byte size."""

    name: str
    offset: int
    size: int


def read_table(read: Reader, media_size: int) -> tuple[list[Partition], list[str]]:
    """The partitions of an image by its MBR or GPT, and notes on what was cut or skipped.

    Args:
        read: ``read(offset, size)`` of the image's media bytes (may return short).
        media_size: Bytes the image says it holds.

    Returns:
        Partitions in table order, and notes (empty when the table is clean).
    """
    mbr = read(0, SECTOR)
    if len(mbr) < SECTOR or mbr[510:512] != b"\x55\xaa":
        return [], []
    entries = [struct.unpack_from("<B3xB3xLL", mbr, 446 + 16 * i) for i in range(4)]
    if any(kind == _PROTECTIVE for _status, kind, _start, _count in entries):
        return _gpt(read, media_size)
    found: list[Partition] = []
    notes: list[str] = []
    for index, (_status, kind, start, count) in enumerate(entries, 1):
        if kind == 0 or count == 0:
            continue
        if kind in _EXTENDED:
            notes.append(f"MBR entry {index}: extended partition not walked in this fallback")
            continue
        found.append(Partition(f"p{len(found) + 1}", start * SECTOR, count * SECTOR))
    return found, notes


def _gpt(read: Reader, media_size: int) -> tuple[list[Partition], list[str]]:
    notes: list[str] = []
    header = _gpt_header(read(SECTOR, SECTOR))
    if header is None:
        last = media_size // SECTOR - 1
        header = _gpt_header(read(last * SECTOR, SECTOR))
        if header is None:
            return [], ["GPT: primary and backup headers both unreadable"]
        notes.append("GPT: primary header damaged, partitions read from the backup header")
    entries_lba, count, entry_size = header
    table = read(entries_lba * SECTOR, count * entry_size)
    found: list[Partition] = []
    for i in range(min(count, len(table) // entry_size)):
        entry = table[i * entry_size : (i + 1) * entry_size]
        if entry[:16] == bytes(16):
            continue
        first, last = struct.unpack_from("<QQ", entry, 32)
        if last < first:
            notes.append(f"GPT entry {i + 1}: ends before it starts, skipped")
            continue
        found.append(Partition(f"p{len(found) + 1}", first * SECTOR, (last - first + 1) * SECTOR))
    return found, notes


def _gpt_header(sector: bytes) -> tuple[int, int, int] | None:
    """(entries LBA, number of entries, entry size) of a GPT header whose CRC holds."""
    if len(sector) < 92 or sector[:8] != _GPT_SIGNATURE:
        return None
    size = struct.unpack_from("<L", sector, 12)[0]
    if not 92 <= size <= len(sector):
        return None
    stored = struct.unpack_from("<L", sector, 16)[0]
    if zlib.crc32(sector[:16] + b"\0\0\0\0" + sector[20:size]) != stored:
        return None
    entries_lba, count, entry_size = struct.unpack_from("<QLL", sector, 72)
    if not 128 <= entry_size <= 4096 or not 0 < count <= 4096:
        return None
    return entries_lba, count, entry_size
