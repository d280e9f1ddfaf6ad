"""EXIF thumbnails, maker-note previews and appended pictures inside a JPEG (``expand/exif.py``).

The JPEG is ``camera_jpeg`` of the document corpus: an EXIF block whose ``IFD1`` points
to a thumbnail and whose maker note (vendor ``ACME``) holds a larger preview, then another
JPEG appended after the main image's end. The thumbnail's offset is checked against
Pillow's EXIF reader.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

from PIL import ExifTags, Image

from documents_corpus.build_documents import camera_jpeg, encoded
from tests_support import InProcessVigil
from vigil.model import Item
from vigil.sources.expand import expander_for
from vigil.sources.expand.recurse import expand_tree
from vigil.sources.sniff import HEAD_SIZE

FILE, INSIDE = camera_jpeg()
PHOTO = FILE[: int(next(k for k in INSIDE if k.startswith("!after-end@")).split("@")[1])]
PREVIEW, THUMB, APPENDED = INSIDE.values()


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
    plain = encoded(5, size=(64, 48))
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
