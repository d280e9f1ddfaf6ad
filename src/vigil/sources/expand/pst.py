"""Outlook PST and OST files (libpff, through ``pypff`` from ``libpff-python``).

Every attachment of every message, folder by folder, is a member named by where it is:
``outlook.pst!Top of Personal Folders/Inbox/message[3]/attachment[1]:photo.jpg`` (the
folder path, the message's place in its folder, the attachment's place in the message
and its file name). A message attached to a message is walked the same way below it
(``.../attachment[2]/attachment[1]:scan.png``). Attachment bytes are read in blocks
through libpff, never all at once. A file libpff cannot open, or a folder or message it
cannot read, gets a record and the walk goes on with the rest.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any, BinaryIO

from vigil.model import Item, ScanError
from vigil.sources.expand import Budget, Member, register

STAGE = "expand.pst"
MIME = "application/vnd.ms-outlook-pst"
_BLOCK = 1 << 20


def expand_pst(item: Item, stream: BinaryIO, budget: Budget) -> Iterator[Member | ScanError]:
    """Yield the attachments of every message of a PST/OST file."""
    import pypff

    pst = pypff.file()
    try:
        pst.open_file_object(stream)
    except OSError as exc:
        yield ScanError(item.path, STAGE, f"not readable by libpff: {exc}")
        return
    try:
        root = pst.get_root_folder()
        yield from walk_folder(item.path, root, "")
    except OSError as exc:
        yield ScanError(item.path, STAGE, f"folder tree unreadable: {exc}")
    finally:
        pst.close()


def walk_folder(where: str, folder: Any, path: str) -> Iterator[Member | ScanError]:
    """Members for the attachments in ``folder`` (a pypff folder) and its sub-folders."""
    for number in range(_count(folder, "number_of_sub_messages")):
        try:
            message = folder.get_sub_message(number)
        except OSError as exc:
            yield ScanError(f"{where}!{path}", STAGE, f"message {number + 1} unreadable: {exc}")
            continue
        yield from _attachments(where, message, f"{path}message[{number + 1}]/")
    for number in range(_count(folder, "number_of_sub_folders")):
        try:
            sub = folder.get_sub_folder(number)
            name = (sub.name or f"folder[{number + 1}]").replace("/", "_")
        except OSError as exc:
            yield ScanError(f"{where}!{path}", STAGE, f"folder {number + 1} unreadable: {exc}")
            continue
        yield from walk_folder(where, sub, f"{path}{name}/")


def _attachments(where: str, message: Any, path: str) -> Iterator[Member | ScanError]:
    for number in range(_count(message, "number_of_attachments")):
        place = f"{path}attachment[{number + 1}]"
        try:
            attachment = message.get_attachment(number)
            size = attachment.get_size()
        except OSError as exc:
            yield ScanError(f"{where}!{place}", STAGE, f"attachment unreadable: {exc}")
            continue
        inner = _embedded_message(attachment)
        if inner is not None:
            yield from _attachments(where, inner, place + "/")
            continue
        name = (attachment.long_filename or "").replace("/", "_")
        yield Member(name=f"{place}:{name}" if name else place,
                     stream=_AttachmentStream(attachment, size), size=size)


def _embedded_message(attachment: Any) -> Any | None:
    """The message an attachment holds (an attached e-mail), or None for file data."""
    try:
        if attachment.get_number_of_sub_items() == 1 and not attachment.get_size():
            return attachment.get_sub_item(0)
    except (OSError, AttributeError):
        return None
    return None


def _count(obj: Any, attribute: str) -> int:
    try:
        return int(getattr(obj, attribute))
    except OSError:
        return 0


class _AttachmentStream(io.RawIOBase):
    """An attachment's bytes, read forward in blocks through libpff."""

    def __init__(self, attachment: Any, size: int) -> None:
        super().__init__()
        self._attachment = attachment
        self._left = size
        attachment.seek_offset(0)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._left <= 0:
            return 0
        try:
            data = self._attachment.read_buffer(min(len(buffer), self._left, _BLOCK))
        except OSError as exc:
            raise OSError(f"attachment data unreadable: {exc}") from exc
        n = len(data)
        memoryview(buffer)[:n] = data
        # libpff giving nothing before the stated size ends the attachment there.
        self._left = self._left - n if n else 0
        return n


register((MIME,), expand_pst)
