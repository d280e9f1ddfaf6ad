"""The media of an E01 segment cut before its chunk table, read chunk after chunk.

libewf finds chunks through the ``table`` section that follows them; a segment cut
short (a copy that stopped, an acquisition that died) has none, and libewf reads
nothing. The chunks themselves sit one after the other in the ``sectors`` section:
each is either a zlib stream (compressed) or ``chunk_size`` bytes plus their Adler-32.
``recover`` walks them in order and keeps every chunk that decodes and checks, up to
the first that does not. Only EWF version 1 (``.E01``) single segments are handled.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

_SIGNATURE = b"EVF\x09\x0d\x0a\xff\x00"
_DESCRIPTOR = 76


@dataclass
class RecoveredMedia:
    """The readable start of an E01's media (``size`` bytes), read on demand."""

    path: Path
    chunk_size: int
    media_size: int
    chunks: list[tuple[int, int, bool]]  # (offset in the file, stored length, compressed)

    @property
    def size(self) -> int:
        """Bytes of media recovered (whole chunks, at most the media size)."""
        return min(len(self.chunks) * self.chunk_size, self.media_size)

    def read(self, offset: int, size: int) -> bytes:
        """Media bytes ``offset`` to ``offset + size`` (short at the recovered end)."""
        out = bytearray()
        with self.path.open("rb") as f:
            while size > 0 and offset < self.size:
                index, skip = divmod(offset, self.chunk_size)
                data = self._chunk(f, index)[skip : skip + size]
                out += data
                offset += len(data)
                size -= len(data)
        return bytes(out)

    def _chunk(self, f: object, index: int) -> bytes:
        at, length, compressed = self.chunks[index]
        f.seek(at)  # type: ignore[attr-defined]
        raw = f.read(length)  # type: ignore[attr-defined]
        return zlib.decompress(raw) if compressed else raw[: self.chunk_size]


def recover(path: Path) -> RecoveredMedia | None:
    """The chunks of an E01 segment that has a ``sectors`` section but no chunk table.

    Returns:
        The recovered media, or None when the file is not such a segment (it has a
        table, so libewf reads it; or it has no volume or sectors section).
    """
    path = Path(path)
    with path.open("rb") as f:
        if f.read(13)[:8] != _SIGNATURE:
            return None
        offset, geometry, sectors = 13, None, None
        while True:
            f.seek(offset)
            head = f.read(_DESCRIPTOR)
            if len(head) < _DESCRIPTOR:
                break
            kind = head[:16].rstrip(b"\0")
            following, size = struct.unpack_from("<QQ", head, 16)
            if kind in (b"volume", b"disk"):
                data = f.read(24)
                if len(data) == 24:
                    chunks, per_chunk, sector, count = struct.unpack_from("<LLLQ", data, 4)
                    geometry = (per_chunk * sector, sector * count)
            elif kind == b"sectors":
                sectors = (offset + _DESCRIPTOR, offset + size)
            elif kind in (b"table", b"table2"):
                return None
            if following <= offset:
                break
            offset = following
        if geometry is None or sectors is None or not geometry[0]:
            return None
        chunk_size, media_size = geometry
        found = _walk_chunks(f, sectors[0], sectors[1], chunk_size)
    return RecoveredMedia(path, chunk_size, media_size, found)


def _walk_chunks(f: object, start: int, end: int, chunk_size: int) -> list[tuple[int, int, bool]]:
    found: list[tuple[int, int, bool]] = []
    at = start
    while at < end:
        f.seek(at)  # type: ignore[attr-defined]
        window = f.read(chunk_size + 1024)  # type: ignore[attr-defined]
        if not window:
            break
        stored = window[: chunk_size + 4]
        if len(stored) == chunk_size + 4 and zlib.adler32(stored[:chunk_size]) == int.from_bytes(
            stored[chunk_size:], "little"
        ):
            found.append((at, chunk_size + 4, False))
            at += chunk_size + 4
            continue
        inflater = zlib.decompressobj()
        try:
            data = inflater.decompress(window, chunk_size)
        except zlib.error:
            break
        if len(data) != chunk_size or not inflater.eof:
            break
        used = len(window) - len(inflater.unused_data)
        found.append((at, used, True))
        at += used
    return found
