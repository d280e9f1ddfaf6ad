"""Chrome/Chromium's older "blockfile" cache: the ``data_1`` .. ``data_3`` block files.

A block file is an 8 KiB header (magic ``0xC104CAC3``, entry size, allocation bitmap)
followed by fixed-size blocks; a cached body of up to 16 KiB is stored in consecutive
blocks of ``data_2`` or ``data_3`` (larger bodies are separate ``f_XXXXXX`` files,
which are the bodies themselves and need no expander). The blocks are carved for
whole JPEG/PNG/GIF files: ``Cache/data_2@73728`` (offset in the file). Without the
index the URL of a body is not named.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from vigil.model import Item, ScanError
from vigil.sources.carve import carve
from vigil.sources.expand import Member, embedded, register
from vigil.sources.expand.whole import in_memory

STAGE = "expand.chrome_blockfile"
MIME = "application/x-chrome-block-file"
MAGIC = bytes.fromhex("c3ca04c1")
HEADER = 8192


@in_memory(STAGE)
def expand_block_file(item: Item, data: bytes) -> Iterator[Member | ScanError]:
    """Yield the pictures carved from the blocks of a cache block file."""
    if len(data) < HEADER:
        yield ScanError(item.path, STAGE, f"block file shorter than its {HEADER}-byte header")
        return
    for offset, length, _kind in carve(io.BytesIO(data), HEADER, len(data) - HEADER):
        yield embedded(data[offset : offset + length], offset)


register((MIME,), expand_block_file)
