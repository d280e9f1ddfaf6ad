"""Pictures inside documents: docx media, PDF image streams, Thumbs.db, thumbcache."""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
from pathlib import Path

from vigil.model import Item
from vigil.sources.expand.recurse import expand_tree


def _load_builder():  # noqa: ANN202
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "build_dftt8", Path(__file__).resolve().parent / "build_dftt8.py"
    )
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


picture = _load_builder().picture


def bytes_item(data: bytes, name: str) -> Item:
    return Item(path=name, open=lambda: io.BytesIO(data), size=len(data))


def read(item: Item) -> bytes:
    with item.open() as stream:
        return stream.read()


def test_docx_media_is_embedded() -> None:
    jpeg = picture(1)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
        z.writestr("word/media/image1.jpeg", jpeg)
    items = [r for r in expand_tree(bytes_item(out.getvalue(), "r.docx")) if isinstance(r, Item)]
    media = next(i for i in items if i.path == "r.docx!word/media/image1.jpeg")
    assert media.embedded and read(media) == jpeg
    assert not next(i for i in items if i.path == "r.docx!word/document.xml").embedded


def make_pdf(jpeg: bytes, indirect_length: bool) -> tuple[bytes, int]:
    length = b"5 0 R" if indirect_length else str(len(jpeg)).encode()
    parts = [
        b"%PDF-1.4\n",
        b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n",
        b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n",
        b"4 0 obj << /Type /XObject /Subtype /Image /Width 96 /Height 64 /ColorSpace "
        b"/DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode /Length " + length + b" >>\nstream\n",
    ]
    offset = sum(map(len, parts))
    parts += [jpeg, b"\nendstream\nendobj\n", b"5 0 obj %d endobj\n" % len(jpeg)]
    parts.append(b"6 0 obj << /Length 3 /Filter /FlateDecode >>\nstream\nabc\nendstream endobj\n")
    parts.append(b"trailer << /Root 1 0 R >>\n%%EOF\n")
    return b"".join(parts), offset


def test_pdf_jpeg_streams_are_byte_exact() -> None:
    # No cross-reference table and an empty page tree: the image is found by its number.
    for indirect in (False, True):
        jpeg = picture(2)
        pdf, _offset = make_pdf(jpeg, indirect)
        results = list(expand_tree(bytes_item(pdf, "doc.pdf")))
        items = [r for r in results if isinstance(r, Item)]
        assert [i.path for i in items] == ["doc.pdf!obj[4 0]"]
        assert items[0].embedded
        assert hashlib.md5(read(items[0])).hexdigest() == hashlib.md5(jpeg).hexdigest()
        assert [r.reason for r in results if not isinstance(r, Item)] == [
            "damaged: no usable trailer or page tree; objects found by a scan"
        ]


def make_cfb(streams: dict[str, bytes]) -> bytes:
    """A minimal OLE2 v3 compound file; every stream >= 4096 bytes (no mini stream)."""
    sector = 512
    data_sectors: list[bytes] = []
    starts = {}
    for name, blob in streams.items():
        assert len(blob) >= 4096
        starts[name] = len(data_sectors)
        padded = blob + b"\0" * (-len(blob) % sector)
        data_sectors += [padded[i : i + sector] for i in range(0, len(padded), sector)]
    entries = [("Root Entry", 5, 0xFFFFFFFE, 0)] + [
        (n, 2, starts[n], len(b)) for n, b in streams.items()
    ]
    directory = b""
    for index, (name, kind, start, size) in enumerate(entries):
        raw = name.encode("utf-16-le") + b"\0\0"
        right = index + 1 if 0 < index < len(entries) - 1 else 0xFFFFFFFF
        child = 1 if index == 0 and len(entries) > 1 else 0xFFFFFFFF
        directory += (
            raw.ljust(64, b"\0") + struct.pack("<HBB", len(raw), kind, 1)
            + struct.pack("<III", 0xFFFFFFFF, right, child) + b"\0" * 36
            + struct.pack("<IQ", start, size)
        )
    directory += b"\0" * (-len(directory) % sector)
    dir_sectors = len(directory) // sector
    n_data = len(data_sectors)
    fat_entries_needed = n_data + dir_sectors + 1
    fat = []
    for name, blob in streams.items():
        n = -(-len(blob) // sector)
        fat += [starts[name] + k + 1 for k in range(n - 1)] + [0xFFFFFFFE]
    first_dir = n_data
    fat += [first_dir + k + 1 for k in range(dir_sectors - 1)] + [0xFFFFFFFE]
    fat_sector = len(fat)
    fat += [0xFFFFFFFD]
    assert len(fat) == fat_entries_needed and len(fat) <= 128
    fat += [0xFFFFFFFF] * (128 - len(fat))
    header = (
        bytes.fromhex("d0cf11e0a1b11ae1")
        + b"\0" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\0" * 6 + struct.pack("<IIII", 0, 1, first_dir, 0) + struct.pack("<I", 4096)
        + struct.pack("<IIII", 0xFFFFFFFE, 0, 0xFFFFFFFE, 0)
        + struct.pack("<I", fat_sector) + b"\xff" * (4 * 108)
    )
    assert len(header) == 512
    return header + b"".join(data_sectors) + directory + struct.pack("<128I", *fat)


def test_thumbs_db_thumbnails() -> None:
    thumbs = {str(n): picture(10 + n, size=(128, 96)) for n in (1, 2)}
    streams = {name: struct.pack("<III", 12, int(name), len(j)) + j for name, j in thumbs.items()}
    for blob in streams.values():
        assert len(blob) >= 4096
    cfb = make_cfb(streams)
    items = [r for r in expand_tree(bytes_item(cfb, "Thumbs.db")) if isinstance(r, Item)]
    assert {i.path: read(i) for i in items} == {
        "Thumbs.db!1@12": thumbs["1"],
        "Thumbs.db!2@12": thumbs["2"],
    }
    assert all(i.embedded for i in items)


def test_thumbcache_entries() -> None:
    pics = [picture(20), picture(21, "PNG")]
    body = b"CMMM" + struct.pack("<IIII", 0x20, 1, 24, 0) + b"\0" * 4
    offsets = []
    for pic in pics:
        header = b"CMMM" + struct.pack("<I", 0) + b"\x11" * 8 + b"\0" * 48
        entry = bytearray(header + pic)
        struct.pack_into("<I", entry, 4, len(entry))
        offsets.append(len(body) + len(header))
        body += bytes(entry)
    items = [r for r in expand_tree(bytes_item(body, "thumbcache_256.db")) if isinstance(r, Item)]
    assert [(i.path, read(i)) for i in items] == [
        (f"thumbcache_256.db@{o}", p) for o, p in zip(offsets, pics, strict=True)
    ]
