"""Pictures inside files of no known kind: a JPEG at an offset in a ``.dll``, a
``pagefile.sys``, a ``hiberfil.sys`` (as stored: a Windows 8+ compressed hibernation
file is not decompressed), a swap file, a memory dump, an unknown binary.

Such a file is carved as unallocated space is (``sources/carve.py``: signature, then a
structure walk that must reach the end of a whole JPEG, PNG or GIF); each picture found
is a child ``file@offset`` (the offset in the file) with the file's provenance. One scan
of the file's bytes, forward, in bounded blocks: a 16 GB pagefile of zeros costs one read
of 16 GB and no more memory than a few blocks. On by default, off with
``vigil scan --no-carve-files`` (``Limits.carve_files``).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from typing import BinaryIO

from vigil.model import Item, ScanError
from vigil.sources.carve import carve
from vigil.sources.expand import Budget, Member, embedded, register
from vigil.sources.sniff import OTHER

STAGE = "expand.carve"


def expand_inside(item: Item, stream: BinaryIO, budget: Budget) -> Iterator[Member | ScanError]:
    """Yield the whole pictures carved from a file of no known kind."""
    try:
        size = stream.seek(0, os.SEEK_END)
    except (OSError, io.UnsupportedOperation) as exc:
        yield ScanError(item.path, STAGE, f"cannot carve: not seekable: {exc}")
        return
    problems: list[str] = []
    for offset, length, _kind in carve(stream, 0, size, problems):
        stream.seek(offset)
        yield embedded(stream.read(length), offset)
    for problem in problems:
        yield ScanError(item.path, STAGE, problem)


register((OTHER.mime,), expand_inside, enabled=lambda limits, _head: limits.carve_files)
