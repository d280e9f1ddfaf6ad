"""Archives read by libarchive: zip (and the zip-based OOXML/ODF documents), 7z, RAR 4/5,
tar, cpio, cab, lha, ar. (Not xar: libarchive 3.6's xar reader runs one member's data
into the next when the file has no checksums, as bsdtar writes them; see docs.)

One walk, front to back (``libarchive_walk.py``); each member is handed out while its
data is current. Pictures inside documents (``word/media/``, ``xl/media/``,
``ppt/media/``, ODF ``Pictures/``) are marked ``embedded`` as well as ``in_archive``.
Entries that hold no data of their own get a record each: symlinks (not followed, the
target is named), hard links (the data is the target's, recorded there), devices and
FIFOs. Encrypted members are listed without bytes and the container gets one record.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from vigil.model import MEMBER_SEP, Item, ScanError
from vigil.sources.expand import Budget, Member, register
from vigil.sources.expand.libarchive_walk import WalkError, walk

STAGE = "expand.archive"
_MEDIA_DIRS = ("word/media/", "xl/media/", "ppt/media/", "Pictures/")
_DOCUMENT_MARKERS = ("[Content_Types].xml", "mimetype")
MIMES = (
    "application/zip",
    "application/x-7z-compressed",
    "application/vnd.rar",
    "application/x-tar",
    "application/x-cpio",
    "application/vnd.ms-cab-compressed",
    "application/x-lzh-compressed",
    "application/x-archive",
)


def expand_archive(item: Item, stream: BinaryIO, budget: Budget) -> Iterator[Member | ScanError]:
    """Yield the members of the archive ``item`` as they stream out of ``stream``.

    Args:
        item: The archive item (for provenance).
        stream: Its bytes, seekable.
        budget: The top-level item's budget (``admit`` is called by the pipeline).

    Returns:
        An iterator of ``Member``s and ``ScanError``s; a damaged archive ends with a
        ScanError saying after how many members the walk stopped.
    """
    document = False
    encrypted = 0
    seen = 0
    try:
        for entry, data in walk(stream):
            seen += 1
            where = item.path + MEMBER_SEP + entry.name
            if entry.kind == "dir":
                continue
            if entry.kind != "file":
                yield ScanError(where, STAGE, _not_data(entry.kind, entry.target))
                continue
            if entry.name in _DOCUMENT_MARKERS:
                document = True
            if entry.encrypted:
                encrypted += 1
            yield Member(
                name=entry.name,
                stream=data,
                size=entry.size,
                modified=entry.modified,
                embedded=document and entry.name.startswith(_MEDIA_DIRS),
                encrypted=entry.encrypted,
            )
    except WalkError as exc:
        yield ScanError(item.path, STAGE, f"archive read stopped after {seen} entries: {exc}")
        return
    if seen == 0:
        yield ScanError(item.path, STAGE, "no entries: an empty or unreadable archive")
    if encrypted:
        yield ScanError(
            item.path, STAGE, f"encrypted: {encrypted} members are listed but cannot be read"
        )


def _not_data(kind: str, target: str | None) -> str:
    if kind == "symlink":
        return f"symbolic link to {target!r}: not followed"
    if kind == "hardlink":
        return f"hard link to {target!r}: its data is recorded there"
    return "device, FIFO or socket entry: no data"


register(MIMES, expand_archive)
