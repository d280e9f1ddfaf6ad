"""OLE2 compound files through olefile: .msg attachments, Thumbs.db, embedded objects."""

from __future__ import annotations

import hashlib
import io
import struct

from documents_corpus.build_documents import encoded, outlook_msg, write_cfb
from vigil.model import Item, ScanError
from vigil.sources.expand.recurse import expand_tree


def _expand(data: bytes, name: str) -> tuple[list[tuple[str, str]], list[ScanError]]:
    results = list(expand_tree(Item(path=name, open=lambda: io.BytesIO(data), size=len(data))))
    items = [(r.path, hashlib.md5(r.open().read()).hexdigest())
             for r in results if isinstance(r, Item)]
    return items, [r for r in results if isinstance(r, ScanError)]


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_eleven_jpeg_attachments_are_eleven_items() -> None:
    # Names repeat (as when a phone names every photo image.jpg): one item each all the same.
    pictures = [("image.jpg" if i % 2 else f"IMG_{i:04d}.JPG", encoded(30 + i)) for i in range(11)]
    inner = [("inside.png", encoded(50, "PNG"))]
    items, errors = _expand(outlook_msg(pictures, inner), "mail.msg")
    assert errors == []
    assert items == [
        (f"mail.msg!attachment[{n}]:{name}", md5(data))
        for n, (name, data) in enumerate(pictures, 1)
    ] + [("mail.msg!attachment[12]:Fwd: more/attachment[1]:inside.png", md5(inner[0][1]))]
    assert len({path for path, _ in items}) == 12


def test_thumbs_db_in_the_mini_stream() -> None:
    # Thumbnails under 4096 bytes live in the mini stream, as Windows writes them.
    thumbs = {str(n): encoded(60 + n, size=(48, 32)) for n in (1, 2, 3)}
    assert all(len(j) < 4096 - 12 for j in thumbs.values())
    streams = {name: struct.pack("<III", 12, int(name), len(j)) + j for name, j in thumbs.items()}
    streams["Catalog"] = b"\x10\x00\x07\x00" + b"\0" * 60
    items, errors = _expand(write_cfb(streams), "Thumbs.db")
    assert errors == []
    assert items == [(f"Thumbs.db!{n}@12", md5(j)) for n, j in sorted(thumbs.items())]


def _package(file_name: str, content: bytes) -> bytes:
    """An OLE 1.0 Package (the ``\\x01Ole10Native`` stream of an embedded file)."""
    temp = b"C:\\Temp\\" + file_name.encode() + b"\0"
    body = (struct.pack("<H", 2) + file_name.encode() + b"\0" + b"C:\\x\\" + file_name.encode()
            + b"\0" + struct.pack("<HH", 0, 3) + struct.pack("<I", len(temp)) + temp
            + struct.pack("<I", len(content)) + content)
    return struct.pack("<I", len(body)) + body


def test_embedded_objects_and_pictures_of_a_legacy_document() -> None:
    photo, chart = encoded(70, size=(300, 200)), encoded(71, "PNG")
    streams = {
        "WordDocument": b"\xec\xa5" + b"\0" * 510,
        "Data": b"\0" * 68 + photo + b"\0" * 100,
        "ObjectPool/_1234567/\x01Ole10Native": _package("chart.png", chart),
        "\x05SummaryInformation": b"\xfe\xff" + b"\0" * 46,
    }
    items, errors = _expand(write_cfb(streams), "report.doc")
    assert errors == []
    assert items == [
        ("report.doc!Data@68", md5(photo)),
        ("report.doc!ObjectPool/_1234567/\\x01Ole10Native:chart.png", md5(chart)),
    ]


def test_looping_sector_chain_is_a_record_and_the_rest_is_read() -> None:
    first, second = encoded(80, size=(400, 300)), encoded(81, size=(400, 300))
    cfb = bytearray(write_cfb({"a": b"\0" * 12 + first, "b": b"\0" * 12 + second}))
    # Stream "a" starts at sector 0; its second sector now points back to the first.
    fat = len(cfb) - 512
    struct.pack_into("<I", cfb, fat + 4, 0)
    items, errors = _expand(bytes(cfb), "Thumbs.db")
    assert items == [("Thumbs.db!b@12", md5(second))]
    assert errors == [ScanError(
        "Thumbs.db!a", "expand.ole",
        f"stream cut: its sector chain loops back after 2 of {-(-(12 + len(first)) // 512)} "
        "sectors",
    )]


def test_not_an_ole_file_is_a_record() -> None:
    items, errors = _expand(bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 600, "x.db")
    assert items == [] and len(errors) == 1 and errors[0].location == "x.db"
