"""Carve JPEG, PNG and GIF from raw bytes by header and structure.

``carve(stream, start, length)`` finds candidates by signature and keeps only those whose
structure holds: JPEG from SOI through a marker-segment walk (entropy-coded data scanned
for the next marker) to EOI with at least one frame and one scan; PNG chunk by chunk with
every CRC checked up to IEND; GIF block by block to the trailer with at least one image.
Sizes are bounded, so garbage never makes the carver read without end.

``carve_file_system`` and ``carve_unpartitioned`` turn carved runs of an image into
``Item``s: unallocated clusters of NTFS (``$Bitmap``), FAT12/16/32 (the FAT) and exFAT
(the allocation bitmap), and space outside any partition. Other file systems are not
carved (a ``ScanError`` says so).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from typing import Any, BinaryIO

from vigil.model import OFFSET_SEP, Item, Locator, ScanError
from vigil.sources.spool import BACKEND_LOCK, LockedStream

MAX_SIZE = {"jpeg": 64 * 1024**2, "png": 64 * 1024**2, "gif": 16 * 1024**2}
_SIGNATURES = ((b"\xff\xd8\xff", "jpeg"), (b"\x89PNG\r\n\x1a\n", "png"), (b"GIF8", "gif"))
_SCAN_CHUNK = 4 * 1024 * 1024
_BLOCK = 256 * 1024


class _Window:
    """Random access to ``stream[start:end]`` through a few cached blocks."""

    def __init__(self, stream: BinaryIO, end: int) -> None:
        self._stream = stream
        self._end = end
        self._blocks: dict[int, bytes] = {}

    def get(self, pos: int, n: int) -> bytes:
        out = bytearray()
        while n > 0 and pos < self._end:
            index = pos // _BLOCK
            block = self._blocks.get(index)
            if block is None:
                if len(self._blocks) > 64:
                    self._blocks.clear()
                self._stream.seek(index * _BLOCK)
                block = self._stream.read(min(_BLOCK, self._end - index * _BLOCK))
                self._blocks[index] = block
            inner = pos - index * _BLOCK
            piece = block[inner : inner + n]
            if not piece:
                break
            out += piece
            pos += len(piece)
            n -= len(piece)
        return bytes(out)


class _Work:
    """What the structure walks of one ``carve`` call have learnt and spent.

    ``dead`` holds the positions of marker segments, chunks and blocks from which a walk
    is known to fail (whatever candidate reached them, as long as it may read to the end
    of the range): a later candidate that joins such a chain stops there instead of
    walking it again. Without it, bytes crafted as one long chain of segments with a
    signature every few bytes cost the square of their length. ``steps`` counts every
    walk step against ``limit``, the backstop for chains cut by a size bound instead.
    """

    def __init__(self, end: int, length: int) -> None:
        self.end = end
        # One set per kind of chain: a position means different things in each.
        self.dead: dict[str, set[int]] = {}
        self.steps = 0
        self.limit = 4 * length + 1_000_000

    def step(self) -> None:
        self.steps += 1
        if self.steps > self.limit:
            raise _WorkSpent

    def advance(self, offset: int) -> None:
        """Forget what lies before ``offset`` (walks only go forward) once the memo is big."""
        if sum(len(dead) for dead in self.dead.values()) > _MEMO_TOTAL:
            for kind, dead in self.dead.items():
                kept = {pos for pos in dead if pos >= offset}
                self.dead[kind] = kept if len(kept) <= _MEMO_TOTAL // 4 else set()

    def chain(self, kind: str) -> set[int]:
        """The dead positions of chains of ``kind``."""
        return self.dead.setdefault(kind, set())

    def failed(self, dead: set[int], visited: list[int], limit: int) -> int:
        """Remember ``visited`` in ``dead`` if the walk could read to the end; return 0."""
        if limit >= self.end:
            dead.update(visited)
        return 0


# Memory bounds of the memo: positions remembered per walk, and in all.
_MEMO_WALK = 1 << 18
_MEMO_TOTAL = 1 << 21


def _remember(visited: list[int], pos: int) -> None:
    if len(visited) < _MEMO_WALK:
        visited.append(pos)


class _WorkSpent(Exception):
    """The structure walks of one carve call took more steps than its backstop allows."""


def carve(
    stream: BinaryIO, start: int, length: int, problems: list[str] | None = None
) -> Iterator[tuple[int, int, str]]:
    """Find whole JPEG/PNG/GIF files in ``stream[start:start+length]``.

    Args:
        stream: A seekable binary stream.
        start: First byte to search.
        length: Number of bytes to search; a file must end inside this range.
        problems: If given, why carving stopped early is appended to it (the structure
            walks took more than four steps per byte searched: crafted input).

    Returns:
        An iterator of ``(offset, length, kind)`` with ``offset`` in stream coordinates
        and ``kind`` one of ``jpeg``, ``png``, ``gif``, in offset order, not overlapping.
        The cost is linear in ``length``: one read of it, in blocks, plus bounded walks.
    """
    end = start + length
    window = _Window(stream, end)
    work = _Work(end, length)
    pos = start
    while pos < end:
        # The search reads the stream directly (no copy through the window's blocks).
        stream.seek(pos)
        chunk = stream.read(min(_SCAN_CHUNK + 8, end - pos))
        if not chunk:
            break
        hits = sorted(
            (i, kind)
            for sig, kind in _SIGNATURES
            if sig[0] in chunk  # memchr: a chunk of zeros costs almost nothing more
            for i in _find_all(chunk, sig)
            if i < _SCAN_CHUNK
        )
        skip_to = pos
        for i, kind in hits:
            offset = pos + i
            if offset < skip_to:
                continue
            work.advance(offset)
            try:
                size = _VALIDATORS[kind](window, offset, min(end, offset + MAX_SIZE[kind]), work)
            except _WorkSpent:
                if problems is not None:
                    problems.append(f"carving stopped at offset {offset}: the structure walks "
                                    f"took more than {work.limit} steps (crafted input?)")
                return
            if size:
                yield offset, size, kind
                skip_to = offset + size
        pos = max(pos + _SCAN_CHUNK, skip_to)


def _find_all(data: bytes, sig: bytes) -> Iterator[int]:
    i = data.find(sig)
    while i != -1:
        yield i
        i = data.find(sig, i + 1)


def _jpeg_size(w: _Window, start: int, end: int, work: _Work) -> int:
    pos = start + 2
    frame = scan = False
    dead = work.chain("jpeg")
    visited: list[int] = []
    while pos + 2 <= end:
        if pos in dead:
            return work.failed(dead, visited, work.end)
        work.step()
        _remember(visited, pos)
        head = w.get(pos, 4)
        if len(head) < 2 or head[0] != 0xFF:
            return work.failed(dead, visited, work.end)
        marker = head[1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xD9:
            return pos + 2 - start if frame and scan else 0
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker in (0x00, 0xD8) or len(head) < 4:
            return work.failed(dead, visited, work.end)
        seg_len = struct.unpack(">H", head[2:4])[0]
        if seg_len < 2:
            return work.failed(dead, visited, work.end)
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            frame = True
        pos += 2 + seg_len
        if marker == 0xDA:
            scan = True
            pos = _after_entropy(w, pos, end)
            if pos < 0:
                return work.failed(dead, visited, end)
    return work.failed(dead, visited, end)


def _after_entropy(w: _Window, pos: int, end: int) -> int:
    """Offset of the first marker after entropy-coded data, or -1."""
    while pos < end:
        data = w.get(pos, min(_BLOCK, end - pos))
        if not data:
            return -1
        i = data.find(b"\xff")
        while i != -1:
            if i + 1 >= len(data):
                break
            nxt = data[i + 1]
            if nxt != 0x00 and not 0xD0 <= nxt <= 0xD7 and nxt != 0xFF:
                return pos + i
            i = data.find(b"\xff", i + 1)
        pos += max(len(data) - 1, 1)
    return -1


def _png_size(w: _Window, start: int, end: int, work: _Work) -> int:
    pos = start + 8
    first = True
    dead = work.chain("png")
    visited: list[int] = []
    while pos + 12 <= end:
        if pos in dead:
            return work.failed(dead, visited, work.end)
        work.step()
        head = w.get(pos, 8)
        if len(head) < 8:
            return 0
        size = struct.unpack(">I", head[:4])[0]
        ctype = head[4:8]
        if not ctype.isalpha() or (first and ctype != b"IHDR"):
            return 0
        if pos + 12 + size > end:
            return work.failed(dead, visited, end)
        if not first:
            _remember(visited, pos)  # the first chunk must be IHDR: its failure is its own
        first = False
        crc = zlib.crc32(ctype)
        done = 0
        while done < size:
            work.step()
            piece = w.get(pos + 8 + done, min(_BLOCK, size - done))
            if not piece:
                return 0
            crc = zlib.crc32(piece, crc)
            done += len(piece)
        stored = w.get(pos + 8 + size, 4)
        if len(stored) < 4 or struct.unpack(">I", stored)[0] != crc:
            return work.failed(dead, visited, work.end)
        pos += 12 + size
        if ctype == b"IEND":
            return pos - start
    return work.failed(dead, visited, end)


def _gif_size(w: _Window, start: int, end: int, work: _Work) -> int:
    head = w.get(start, 13)
    if len(head) < 13 or head[:6] not in (b"GIF87a", b"GIF89a"):
        return 0
    pos = start + 13
    if head[10] & 0x80:
        pos += 3 * (2 ** ((head[10] & 7) + 1))
    images = 0
    dead = work.chain("gif")
    visited: list[int] = []
    while pos < end:
        if pos in dead:
            return work.failed(dead, visited, work.end)
        work.step()
        _remember(visited, pos)
        block = w.get(pos, 1)
        if not block:
            return 0
        if block[0] == 0x3B:
            return pos + 1 - start if images else 0
        if block[0] == 0x21:
            pos = _skip_sub_blocks(w, pos + 2, end, work)
        elif block[0] == 0x2C:
            desc = w.get(pos, 10)
            if len(desc) < 10:
                return 0
            pos += 10
            if desc[9] & 0x80:
                pos += 3 * (2 ** ((desc[9] & 7) + 1))
            pos = _skip_sub_blocks(w, pos + 1, end, work)  # after the LZW minimum code size
            images += 1
        else:
            return work.failed(dead, visited, work.end)
        if pos < 0:
            return work.failed(dead, visited, end)
    return work.failed(dead, visited, end)


def _skip_sub_blocks(w: _Window, pos: int, end: int, work: _Work) -> int:
    """The position after a chain of data sub-blocks, or -1 (memoised as a failure when
    the chain runs to the end of the range: later candidates stop where they join it)."""
    dead = work.chain("gif-data")
    visited: list[int] = []
    while pos < end:
        if pos in dead:
            work.failed(dead, visited, work.end)
            return -1
        work.step()
        _remember(visited, pos)
        size = w.get(pos, 1)
        if not size:
            return -1
        pos += 1 + size[0]
        if size[0] == 0:
            return pos
    work.failed(dead, visited, end)
    return -1


_VALIDATORS = {"jpeg": _jpeg_size, "png": _png_size, "gif": _gif_size}


# --- carving an image: where the unallocated space is -----------------------------------


def _runs_from_bits(bitmap: bytes, count: int, first: int = 0) -> Iterator[tuple[int, int]]:
    """Runs ``(first_unit, n)`` of clear bits (LSB first) in ``bitmap``."""
    run_start = None
    for unit in range(count):
        used = bitmap[unit >> 3] >> (unit & 7) & 1 if unit >> 3 < len(bitmap) else 1
        if not used and run_start is None:
            run_start = unit
        elif used and run_start is not None:
            yield first + run_start, unit - run_start
            run_start = None
    if run_start is not None:
        yield first + run_start, count - run_start


def _read_tsk_file(fs_info: Any, path: str) -> bytes:
    f = fs_info.open(path)
    return f.read_random(0, int(f.info.meta.size))


def free_ranges(fs: str, volume: BinaryIO, fs_info: Any) -> list[tuple[int, int]]:
    """Byte ranges ``(offset, length)`` of unallocated clusters of a file system.

    Args:
        fs: Provenance file-system name (NTFS, FAT12, FAT16, FAT32, EXFAT).
        volume: The file system's raw bytes (offset 0 = boot sector).
        fs_info: pytsk3 ``FS_Info`` of it, for the allocation bitmaps.

    Returns:
        Merged byte ranges relative to the start of the volume.

    Raises:
        NotImplementedError: For file systems whose allocation map is not read here.
    """
    volume.seek(0)
    boot = volume.read(512)
    bps = struct.unpack_from("<H", boot, 11)[0]
    if fs == "NTFS":
        spc = boot[13] if boot[13] <= 0x80 else 1 << (256 - boot[13])
        cluster = bps * spc
        total = struct.unpack_from("<Q", boot, 40)[0] // spc
        bitmap = _read_tsk_file(fs_info, "/$Bitmap")
        runs = _runs_from_bits(bitmap, total)
        return [(c * cluster, n * cluster) for c, n in runs]
    if fs == "EXFAT":
        bps = 1 << boot[108]
        cluster = bps << boot[109]
        heap = struct.unpack_from("<I", boot, 88)[0] * bps
        count = struct.unpack_from("<I", boot, 92)[0]
        bitmap = _read_tsk_file(fs_info, "/$ALLOC_BITMAP")
        runs = _runs_from_bits(bitmap, count, 2)
        return [(heap + (c - 2) * cluster, n * cluster) for c, n in runs]
    if fs in ("FAT12", "FAT16", "FAT32"):
        return _fat_free(fs, boot, volume)
    raise NotImplementedError(f"unallocated space of {fs} is not mapped")


def _fat_free(fs: str, boot: bytes, volume: BinaryIO) -> list[tuple[int, int]]:
    bps, spc = struct.unpack_from("<H", boot, 11)[0], boot[13]
    reserved, nfats, root_entries = struct.unpack_from("<HBH", boot, 14)
    total = struct.unpack_from("<H", boot, 19)[0] or struct.unpack_from("<I", boot, 32)[0]
    fat_size = struct.unpack_from("<H", boot, 22)[0] or struct.unpack_from("<I", boot, 36)[0]
    root_sectors = (root_entries * 32 + bps - 1) // bps
    first_data = reserved + nfats * fat_size + root_sectors
    count = (total - first_data) // spc
    volume.seek(reserved * bps)
    fat = volume.read(fat_size * bps)
    cluster = bps * spc
    ranges: list[tuple[int, int]] = []
    for c in range(2, count + 2):
        if fs == "FAT12":
            v = struct.unpack_from("<H", fat, c * 3 // 2)[0]
            v = v >> 4 if c & 1 else v & 0xFFF
        elif fs == "FAT16":
            v = struct.unpack_from("<H", fat, c * 2)[0]
        else:
            v = struct.unpack_from("<I", fat, c * 4)[0] & 0x0FFFFFFF
        if v == 0:
            off = (first_data + (c - 2) * spc) * bps
            if ranges and ranges[-1][0] + ranges[-1][1] == off:
                ranges[-1] = (ranges[-1][0], ranges[-1][1] + cluster)
            else:
                ranges.append((off, cluster))
    return ranges


def _carved_items(
    reader: Any, how: str, base: int, stream: BinaryIO, ranges: list[tuple[int, int]],
    base_offset: int, label: str,
) -> Iterator[Item]:
    """Items for the pictures carved from ``ranges`` of ``stream`` (a volume or a layer)."""
    for start, length in ranges:
        for offset, n, _kind in carve(stream, start, length):
            physical = base_offset + offset
            locator = Locator(how, base, runs=((offset, n),))
            yield Item(
                path=f"{label}{OFFSET_SEP}{physical}",
                open=reader.opener(locator, n),
                size=n,
                allocated=False,
                carved=True,
                offset=physical,
                locator=locator,
            )


def carve_file_system(reader: Any, base: int, fs: str, prefix: str) -> Iterator[Item | ScanError]:
    """Carve pictures from the unallocated clusters of one file system of an image.

    Args:
        reader: The image's reader (``image_read.ImageReader``).
        base: The file system's position among the reader's file systems.
        fs: Provenance file-system name.
        prefix: Provenance prefix, e.g. ``p1/NTFS``; items are ``<prefix>/$Unallocated@<off>``.

    Returns:
        Carved ``Item``s (``carved=True``, ``offset`` = byte offset in the whole image),
        or a ``ScanError`` when this file system's free space cannot be mapped.
    """
    label = f"{prefix}/$Unallocated"
    try:
        with BACKEND_LOCK:
            tsk = reader.tsk(base)
            probe = reader.volume(base)
            size = int(probe.get_size())
            whole = LockedStream(lambda: probe, size, BACKEND_LOCK)
            ranges = free_ranges(fs, whole, tsk.GetFsInfo() if tsk is not None else None)
            base_offset = _volume_offset(reader.bases[base].parent)
    except NotImplementedError as exc:
        yield ScanError(prefix, "carve", str(exc))
        return
    except Exception as exc:  # noqa: BLE001
        yield ScanError(prefix, "carve", f"cannot map unallocated space: {exc}")
        return
    yield from _carved_items(reader, "runs", base, whole, ranges, base_offset, label)


def _volume_offset(spec: Any) -> int:
    """Byte offset of a partition in the image (0 when the volume is the image)."""
    from dfvfs.lib import definitions, tsk_partition
    from dfvfs.resolver import resolver

    if spec.type_indicator == definitions.TYPE_INDICATOR_TSK_PARTITION:
        vs = resolver.Resolver.OpenFileSystem(spec)
        part, _ = tsk_partition.GetTSKVsPartByPathSpec(vs.GetTSKVolume(), spec)
        sector = tsk_partition.TSKVolumeGetBytesPerSector(vs.GetTSKVolume())
        return int(tsk_partition.TSKVsPartGetStartSector(part)) * sector
    if spec.type_indicator == definitions.TYPE_INDICATOR_GPT:
        vs = resolver.Resolver.OpenFileSystem(spec)
        entry = vs.GetFileEntryByPathSpec(spec)
        return int(entry.GetGPTPartition().volume_offset)  # type: ignore[union-attr]
    if spec.parent is None or spec.type_indicator in ("RAW", "EWF", "QCOW", "VHDI", "VMDK"):
        return 0
    raise NotImplementedError(f"no linear image offset through {spec.type_indicator}")


def carve_unpartitioned(reader: Any) -> Iterator[Item | ScanError]:
    """Carve pictures from image space that no partition covers.

    Args:
        reader: The image's reader (``image_read.ImageReader``); its partition-table
            layers are the images searched.

    Returns:
        Carved ``Item``s with paths ``unpartitioned@<offset>``.
    """
    import pytsk3
    from dfvfs.lib import tsk_image

    for number in range(len(reader.layers())):
        try:
            with BACKEND_LOCK:
                image = reader.layer(number)
                size = int(image.get_size())
                volume = pytsk3.Volume_Info(tsk_image.TSKFileSystemImage(image))
                block = int(volume.info.block_size)
                ranges = [
                    (int(p.start) * block, int(p.len) * block)
                    for p in volume
                    if int(p.flags) & int(pytsk3.TSK_VS_PART_FLAG_UNALLOC)
                ]
                stream = LockedStream(lambda image=image: image, size, BACKEND_LOCK)
        except Exception as exc:  # noqa: BLE001
            yield ScanError("unpartitioned", "carve", f"cannot read volume system: {exc}")
            continue
        yield from _carved_items(reader, "layer-runs", number, stream, ranges, 0, "unpartitioned")
