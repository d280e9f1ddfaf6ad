"""Cover art in audio files: ID3v2 ``APIC``/``PIC`` frames (MP3), FLAC ``PICTURE`` blocks,
MP4/M4A ``covr`` items.

Each picture is the stored file, byte for byte: ``song.mp3!ID3/APIC[1]``,
``song.flac!PICTURE[1]``, ``song.m4a!covr[1]`` (numbered in file order). Read by our own
short parsers of the three tag layouts (the maintained tag library, mutagen, is GPL).
A tag that ends before its frames do gets a record.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from vigil.model import Item, ScanError
from vigil.sources.expand import Member, embedded, register
from vigil.sources.expand.whole import in_memory

STAGE = "expand.audio"
MP3 = "audio/mpeg"
FLAC = "audio/flac"
M4A = "audio/mp4"


@in_memory(STAGE)
def expand_audio(item: Item, data: bytes) -> Iterator[Member | ScanError]:
    """Yield the cover pictures of an MP3 (ID3v2), FLAC or M4A file."""
    try:
        if data.startswith(b"ID3"):
            found = list(_id3(data))
        elif data.startswith(b"fLaC"):
            found = list(_flac(data))
        else:
            found = list(_mp4_covers(data, 0, len(data), ()))
    except (struct.error, ValueError, IndexError) as exc:
        yield ScanError(item.path, STAGE, f"damaged tag: {type(exc).__name__}: {exc}")
        return
    for number, (name, offset, length) in enumerate(found, 1):
        yield embedded(data[offset : offset + length], offset, f"{name}[{number}]")


def _syncsafe(raw: bytes) -> int:
    value = 0
    for byte in raw:
        value = (value << 7) | (byte & 0x7F)
    return value


def _id3(data: bytes) -> Iterator[tuple[str, int, int]]:
    """``(name, offset, length)`` of each picture frame of the ID3v2 tag at the start."""
    major, flags = data[3], data[5]
    end = 10 + _syncsafe(data[6:10])
    if end > len(data) or major not in (2, 3, 4):
        raise ValueError(f"ID3v2.{major} tag of {end} bytes in a file of {len(data)}")
    if flags & 0x80:
        # Unsynchronised: offsets would not point into the file; not supported.
        raise ValueError("unsynchronised ID3 tag: pictures not located")
    pos = 10
    if flags & 0x40 and major >= 3:
        extended = struct.unpack_from(">I", data, pos)[0]
        pos += _syncsafe(data[pos : pos + 4]) if major == 4 else extended + 4
    id_size, head = (3, 6) if major == 2 else (4, 10)
    while pos + head <= end and data[pos] != 0:
        frame = data[pos : pos + id_size]
        if major == 2:
            size = int.from_bytes(data[pos + 3 : pos + 6], "big")
        elif major == 4:
            size = _syncsafe(data[pos + 4 : pos + 8])
        else:
            size = struct.unpack_from(">I", data, pos + 4)[0]
        body = pos + head
        if body + size > end:
            raise ValueError(f"frame {frame!r} runs past the end of the tag")
        if frame in (b"APIC", b"PIC"):
            start = _picture_start(data, body, major)
            yield f"ID3/{frame.decode()}", start, body + size - start
        pos = body + size


def _picture_start(data: bytes, body: int, major: int) -> int:
    """Where the picture bytes start in an APIC (or v2.2 PIC) frame body."""
    encoding = data[body]
    pos = body + 1
    if major == 2:
        pos += 3  # image format, e.g. "JPG"
    else:
        pos = data.index(b"\0", pos) + 1  # MIME type
    pos += 1  # picture type
    if encoding in (1, 2):  # UTF-16: a two-byte terminator on a two-byte boundary
        while data[pos : pos + 2] != b"\0\0":
            pos += 2
        return pos + 2
    return data.index(b"\0", pos) + 1


def _flac(data: bytes) -> Iterator[tuple[str, int, int]]:
    pos = 4
    while pos + 4 <= len(data):
        header = data[pos]
        size = int.from_bytes(data[pos + 1 : pos + 4], "big")
        body = pos + 4
        if body + size > len(data):
            raise ValueError("metadata block runs past the end of the file")
        if header & 0x7F == 6:
            at = body + 4
            at += 4 + struct.unpack_from(">I", data, at)[0]  # MIME type
            at += 4 + struct.unpack_from(">I", data, at)[0]  # description
            at += 16  # width, height, depth, colours
            length = struct.unpack_from(">I", data, at)[0]
            yield "PICTURE", at + 4, length
        if header & 0x80:
            break
        pos = body + size


_MP4_PATH = (b"moov", b"udta", b"meta", b"ilst", b"covr")


def _mp4_covers(data: bytes, start: int, end: int, path: tuple[bytes, ...]
                ) -> Iterator[tuple[str, int, int]]:
    """Walk ``moov/udta/meta/ilst/covr`` and yield each ``data`` box's picture."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            size, header = struct.unpack_from(">Q", data, pos + 8)[0], 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise ValueError(f"box {kind!r} runs past its parent")
        inner = (*path, kind)
        if path == _MP4_PATH and kind == b"data":
            yield "covr", pos + 16, size - 16  # type (4) and locale (4) after the header
        elif len(inner) <= len(_MP4_PATH) and _MP4_PATH[: len(inner)] == inner:
            skip = 4 if kind == b"meta" else 0  # a full box: version and flags
            yield from _mp4_covers(data, pos + header + skip, pos + size, inner)
        pos += size


register((MP3, FLAC, M4A), expand_audio)
