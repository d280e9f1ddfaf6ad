"""EXIF thumbnails, maker-note previews and appended pictures inside a JPEG (``expand/exif.py``).

The JPEG is built here: an EXIF block whose ``IFD1`` points to a thumbnail and whose
maker note (vendor ``ACME``) holds a larger preview, then another JPEG appended after the
main image's end. Expected offsets come from the bytes placed and from Pillow's EXIF reader.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
from pathlib import Path

from PIL import ExifTags, Image

from tests_support import InProcessVigil
from vigil.demo import draw_landscape
from vigil.model import Item
from vigil.sources.expand import expander_for
from vigil.sources.expand.recurse import expand_tree
from vigil.sources.sniff import HEAD_SIZE


def _jpeg(seed: int, size: tuple[int, int], **kw: object) -> bytes:
    buf = io.BytesIO()
    draw_landscape(seed, size).save(buf, "JPEG", **kw)
    return buf.getvalue()


def _ifd(entries: list[tuple[int, int, int, int]], following: int) -> bytes:
    out = struct.pack("<H", len(entries))
    for entry in entries:
        out += struct.pack("<HHII", *entry)
    return out + struct.pack("<I", following)


THUMB, PREVIEW, APPENDED = _jpeg(2, (64, 48)), _jpeg(3, (120, 90)), _jpeg(4, (80, 60))


def _exif() -> bytes:
    """A little-endian EXIF block: IFD0 -> Exif IFD -> MakerNote(preview); IFD1 -> thumbnail."""
    exif_ifd = 8 + 18
    maker_at = exif_ifd + 18
    maker = b"ACME\x00\x00" + PREVIEW
    ifd1 = maker_at + len(maker)
    thumb_at = ifd1 + 2 + 3 * 12 + 4
    return b"Exif\x00\x00" + b"II*\x00" + struct.pack("<I", 8) + b"".join((
        _ifd([(0x8769, 4, 1, exif_ifd)], ifd1),
        _ifd([(0x927C, 7, len(maker), maker_at)], 0),
        maker,
        _ifd([(0x0103, 3, 1, 6), (0x0201, 4, 1, thumb_at), (0x0202, 4, 1, len(THUMB))], 0),
        THUMB,
    ))


PHOTO = _jpeg(1, (320, 240), exif=_exif())
FILE = PHOTO + APPENDED


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_thumbnail_preview_and_appended_picture_are_separate_items() -> None:
    tiff = PHOTO.index(b"Exif\x00\x00") + 6
    ifd1 = Image.open(io.BytesIO(PHOTO)).getexif().get_ifd(ExifTags.IFD.IFD1)
    thumb_at = tiff + ifd1[513]
    assert PHOTO[thumb_at : thumb_at + ifd1[514]] == THUMB
    found = []
    for child in expand_tree(Item("DCIM/photo.jpg", lambda: io.BytesIO(FILE), size=len(FILE))):
        assert isinstance(child, Item), child
        with child.open() as stream:
            found.append((child.path, child.embedded, _md5(stream.read())))
    assert found == [
        (f"DCIM/photo.jpg!exif-preview@{PHOTO.index(PREVIEW)}", True, _md5(PREVIEW)),
        (f"DCIM/photo.jpg!exif-thumbnail@{thumb_at}", True, _md5(THUMB)),
        (f"DCIM/photo.jpg!after-end@{len(PHOTO)}", True, _md5(APPENDED)),
    ]


def test_a_jpeg_without_exif_is_not_a_container() -> None:
    plain = _jpeg(5, (64, 48))
    assert expander_for("image/jpeg", head=plain[:HEAD_SIZE]) is None
    assert expander_for("image/jpeg", head=PHOTO[:HEAD_SIZE]) is not None
    assert list(expand_tree(Item("plain.jpg", lambda: io.BytesIO(plain), size=len(plain)))) == []


def test_in_a_scan_the_photo_and_its_thumbnails_are_all_hashed_pictures(tmp_path: Path) -> None:
    evidence = tmp_path / "ev"
    evidence.mkdir()
    (evidence / "photo.jpg").write_bytes(FILE)
    vigil = InProcessVigil(tmp_path / "home")
    vigil("scan", str(evidence), "--case", "C", "--exhibit", "E", "-q", "--workers", "1",
          "--executor", "threads")
    vigil("report", "C", "--format", "json", "--out", str(tmp_path / "rep"))
    items = json.loads((tmp_path / "rep" / "report.json").read_text())["items"]
    assert sorted((i["path"].split("@")[0], i["md5"], i["media"]) for i in items) == sorted([
        ("photo.jpg", _md5(FILE), "image"),
        ("photo.jpg!exif-preview", _md5(PREVIEW), "image"),
        ("photo.jpg!exif-thumbnail", _md5(THUMB), "image"),
        ("photo.jpg!after-end", _md5(APPENDED), "image"),
    ])
    # The photo with children is a picture itself: PDQ'd like its children.
    assert all(i["pdq"] and i["pdq_quality"] for i in items)
    assert {i["parent"] for i in items if i["path"] != "photo.jpg"} == {"photo.jpg"}
