"""PST/OST attachments (``expand/pst.py``): bad input and the walk's naming.

Real Outlook files are in ``tests/real/test_pst_real.py`` (two OSTs of the pst-extractor
npm package, fetched by ``make testdata``). Here: a file with a PST header that is not
one is a record, and the folder/message/attachment walk's names and block reads on
objects that answer the same calls as pypff's (names, counts, ``read_buffer``), with
cases the real files lack (an attached message, an attachment without a name).
"""

from __future__ import annotations

import io
import struct

from vigil.model import Item, ScanError
from vigil.sources.expand.pst import walk_folder
from vigil.sources.expand.recurse import expand_tree
from vigil.sources.sniff import sniff


def test_a_pst_header_with_nothing_behind_it_is_a_record() -> None:
    data = b"!BDN" + struct.pack("<I", 0) + b"SM" + struct.pack("<H", 23) + bytes(1000)
    assert sniff(data).mime == "application/vnd.ms-outlook-pst"
    found = list(expand_tree(Item("mail/outlook.pst", lambda: io.BytesIO(data), size=len(data))))
    assert len(found) == 1 and isinstance(found[0], ScanError)
    assert (found[0].location, found[0].stage) == ("mail/outlook.pst", "expand.pst")
    assert found[0].reason.startswith("not readable by libpff: ")
    assert "mismatch in file header checksum" in found[0].reason


class _Attachment:
    def __init__(self, name: str, data: bytes = b"", inner: _Message | None = None) -> None:
        self.long_filename, self._data, self._inner, self._at = name, data, inner, 0

    def get_size(self) -> int:
        return len(self._data)

    def get_number_of_sub_items(self) -> int:
        return 1 if self._inner is not None else 0

    def get_sub_item(self, _index: int) -> _Message | None:
        return self._inner

    def seek_offset(self, offset: int) -> None:
        self._at = offset

    def read_buffer(self, size: int) -> bytes:
        piece = self._data[self._at : self._at + size]
        self._at += len(piece)
        return piece


class _Message:
    def __init__(self, *attachments: _Attachment) -> None:
        self._attachments = attachments
        self.number_of_attachments = len(attachments)

    def get_attachment(self, index: int) -> _Attachment:
        return self._attachments[index]


class _Folder:
    def __init__(self, name: str, messages: list[_Message], folders: list[_Folder]) -> None:
        self.name, self._messages, self._folders = name, messages, folders
        self.number_of_sub_messages, self.number_of_sub_folders = len(messages), len(folders)

    def get_sub_message(self, index: int) -> _Message:
        return self._messages[index]

    def get_sub_folder(self, index: int) -> _Folder:
        return self._folders[index]


def test_every_attachment_is_a_member_named_by_folder_message_and_place() -> None:
    big = bytes(range(256)) * 9000  # more than one read block
    inbox = _Folder("Inbox", [
        _Message(_Attachment("photo.jpg", b"\xff\xd8jpeg"), _Attachment("photo.jpg", b"other")),
        _Message(),
        _Message(_Attachment("", b"noname"),
                 _Attachment("fwd", inner=_Message(_Attachment("scan.png", big)))),
    ], [])
    root = _Folder("", [], [_Folder("Top of Personal Folders", [], [inbox])])
    found = [(m.name, m.size, m.stream.read()) for m in walk_folder("o.pst", root, "")]
    top = "Top of Personal Folders/Inbox"
    assert found == [
        (f"{top}/message[1]/attachment[1]:photo.jpg", 6, b"\xff\xd8jpeg"),
        (f"{top}/message[1]/attachment[2]:photo.jpg", 5, b"other"),
        (f"{top}/message[3]/attachment[1]", 6, b"noname"),
        (f"{top}/message[3]/attachment[2]/attachment[1]:scan.png", len(big), big),
    ]
