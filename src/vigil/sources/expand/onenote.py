"""OneNote sections (``.one``): the files and pictures pasted into a notebook.

OneNote keeps each embedded file or picture whole in a FileDataStoreObject
([MS-ONESTORE] 2.6.13): a header GUID ``{BDE316E7-2665-4511-A4C4-8D4D0B7A9EAC}``, the
length (8 bytes), 12 bytes unused, the data, padding to 8 bytes and a footer GUID
``{71FBA722-0F79-4A0B-BB13-899256426B24}``. Each is a member, byte-exact:
``notes.one!FileDataStore@<offset of the data>``. The objects are found by their header
GUID, one pass over the file; an object whose footer is missing gets a record.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from vigil.model import Item, ScanError
from vigil.sources.expand import Member, embedded, register
from vigil.sources.expand.whole import in_memory

STAGE = "expand.onenote"
MIME = "application/onenote"
MAGIC = bytes.fromhex("e4525c7b8cd8a74daeb15378d02996d3")
HEADER_GUID = bytes.fromhex("e716e3bd65261145a4c48d4d0b7a9eac")
FOOTER_GUID = bytes.fromhex("22a7fb71790f0b4abb13899256426b24")
_HEAD = 16 + 8 + 4 + 8


@in_memory(STAGE)
def expand_onenote(item: Item, data: bytes) -> Iterator[Member | ScanError]:
    """Yield every file stored in a OneNote section's FileDataStoreObjects."""
    pos = data.find(HEADER_GUID)
    while pos != -1:
        start = pos + _HEAD
        if start > len(data):
            yield ScanError(f"{item.path}@{pos}", STAGE, "file data object cut short")
            return
        length = struct.unpack_from("<Q", data, pos + 16)[0]
        footer = start + length + (-length % 8)
        if data[footer : footer + 16] != FOOTER_GUID:
            yield ScanError(f"{item.path}!FileDataStore@{start}", STAGE,
                            f"file data object of {length} bytes without its footer (damaged)")
            pos = data.find(HEADER_GUID, pos + 16)
            continue
        yield embedded(data[start : start + length], start, "FileDataStore")
        pos = data.find(HEADER_GUID, footer + 16)


register((MIME,), expand_onenote)
