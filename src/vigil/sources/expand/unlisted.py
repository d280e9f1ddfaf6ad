"""Carving a database file for pictures that none of its live values holds.

A database expander (SQLite, ESE) first yields the pictures in its live values, then
carves the whole file for the rest: deleted records, free pages, pictures inside other
values. ``Listed`` remembers what the live values hold (each value, and each picture
carved from inside it, by SHA-1), so a live picture is never reported a second time as
``db@offset``, even when its value carries bytes after the picture's end.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from typing import BinaryIO

from vigil.model import ScanError
from vigil.sources.carve import carve
from vigil.sources.expand import Member, embedded


class Listed:
    """The SHA-1s of the live values yielded so far, and of the pictures inside them."""

    def __init__(self) -> None:
        self._digests: set[bytes] = set()

    def add(self, value: bytes) -> None:
        """Remember ``value`` and every whole picture carved from inside it."""
        self._digests.add(hashlib.sha1(value).digest())
        for offset, length, _kind in carve(io.BytesIO(value), 0, len(value)):
            self._digests.add(hashlib.sha1(value[offset : offset + length]).digest())

    def passing(self, found: Iterator[Member | ScanError]) -> Iterator[Member | ScanError]:
        """``found`` unchanged, each member's bytes remembered on the way."""
        for one in found:
            if isinstance(one, Member):
                self.add(one.stream.getvalue())  # type: ignore[attr-defined]
            yield one

    def __contains__(self, piece: bytes) -> bool:
        return hashlib.sha1(piece).digest() in self._digests


def carve_unlisted(stream: BinaryIO, listed: Listed) -> Iterator[Member]:
    """Whole JPEG/PNG/GIF files in ``stream`` (seekable, all of it) not held by a live value."""
    size = stream.seek(0, os.SEEK_END)
    for offset, length, _kind in carve(stream, 0, size):
        at = stream.tell()
        stream.seek(offset)
        piece = stream.read(length)
        stream.seek(at)
        if piece not in listed:
            yield embedded(piece, offset)


def carved_after(found: Iterator[Member | ScanError], stream: BinaryIO
                 ) -> Iterator[Member | ScanError]:
    """``found`` (a database's live values), then the pictures carved from ``stream`` that
    none of them holds."""
    listed = Listed()
    yield from listed.passing(found)
    yield from carve_unlisted(stream, listed)
