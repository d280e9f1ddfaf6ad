"""Zip archives, and the zip-based documents (OOXML docx/xlsx/pptx, ODF odt/ods/odp).

Pictures inside documents (``word/media/``, ``xl/media/``, ``ppt/media/``, ODF
``Pictures/``) are marked ``embedded=True`` as well as ``in_archive``.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import BinaryIO

from vigil.model import Item, ScanError
from vigil.sources.expand import Limits, register
from vigil.sources.expand.members import Budget, child
from vigil.sources.spool import spool

_MEDIA_DIRS = ("word/media/", "xl/media/", "ppt/media/", "Pictures/")
STAGE = "expand.zip"


def expand_zip(item: Item, limits: Limits) -> Iterator[Item | ScanError]:
    """Yield the members of a zip archive (or zip-based document) as child items.

    Args:
        item: The zip item.
        limits: Bomb guards.

    Returns:
        An iterator of child ``Item``s and ``ScanError``s.
    """
    budget = Budget(item, limits, STAGE)
    if (error := budget.depth_error()) is not None:
        yield error
        return
    try:
        with item.open() as stream, zipfile.ZipFile(stream) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        yield ScanError(item.path, STAGE, f"not a readable zip: {exc}")
        return
    names = {info.filename for info in infos}
    is_document = "[Content_Types].xml" in names or "mimetype" in names
    encrypted_seen = False
    for info in infos:
        if info.is_dir():
            continue
        if (error := budget.admit(info.filename, info.file_size, info.compress_size)) is not None:
            yield error
            if budget.entry_limit_hit():
                return
            continue
        encrypted = bool(info.flag_bits & 0x1)
        encrypted_seen |= encrypted
        embedded = is_document and info.filename.startswith(_MEDIA_DIRS)
        yield child(
            item,
            info.filename,
            _opener(item, info.filename, info.file_size, limits),
            info.file_size,
            embedded=embedded,
            encrypted=encrypted,
            modified=_zip_time(info.date_time),
        )
    if encrypted_seen:
        yield ScanError(item.path, STAGE, "encrypted: members are listed but cannot be read")


def _zip_time(date_time: tuple[int, int, int, int, int, int]) -> datetime | None:
    # Zip stores local time without a zone; it is recorded as if UTC.
    try:
        return datetime(*date_time, tzinfo=UTC)
    except ValueError:
        return None


def _opener(item: Item, name: str, size: int, limits: Limits) -> Callable[[], BinaryIO]:
    def open_() -> BinaryIO:
        with item.open() as stream, zipfile.ZipFile(stream) as archive, archive.open(name) as m:
            # A header may lie about the size: never inflate past what it declared.
            return spool(m, limit=min(size, limits.max_member_bytes))

    return open_


register(("application/zip",), expand_zip)
