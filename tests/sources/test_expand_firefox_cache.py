"""Firefox cache2 entries (``expand/firefox_cache.py``), written by the document corpus's
``firefox_cache2_entry`` following the format: the body, the metadata (self hash, chunk
hashes, eight-field header, key, elements) and the body's size as the last 4 bytes."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

from documents_corpus.build_documents import encoded, firefox_cache2_entry
from tests_support import InProcessVigil
from vigil.model import Item
from vigil.sources.expand.recurse import expand_tree
from vigil.sources.reopen import open_item

JPEG, PNG = encoded(11), encoded(12, "PNG")
URL_A = "https://example.org/pics/a.jpg"
URL_B = "https://cdn.example.org/b.png"
ENTRY_A = firefox_cache2_entry(JPEG, ":" + URL_A)
ENTRY_B = firefox_cache2_entry(PNG, "O^partitionKey=%28https%2Cexample.org%29,a,:" + URL_B,
                               version=1)
NAME_A = hashlib.sha1(b":" + URL_A.encode()).hexdigest().upper()
NAME_B = hashlib.sha1(URL_B.encode()).hexdigest().upper()


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_the_body_of_an_entry_is_its_member_named_by_url(tmp_path: Path) -> None:
    found = []
    for entry, name in ((ENTRY_A, NAME_A), (ENTRY_B, NAME_B)):
        item = Item(f"entries/{name}", lambda entry=entry: io.BytesIO(entry), size=len(entry))
        for child in expand_tree(item):
            assert isinstance(child, Item), child
            with child.open() as stream:
                found.append((child.path, _md5(stream.read())))
    assert found == [(f"entries/{NAME_A}!{URL_A}", _md5(JPEG)),
                     (f"entries/{NAME_B}!{URL_B}", _md5(PNG))]
    # The review app re-opens the cached picture from the evidence by the same path.
    (tmp_path / "entries").mkdir()
    (tmp_path / "entries" / NAME_B).write_bytes(ENTRY_B)
    with open_item(tmp_path, f"entries/{NAME_B}!{URL_B}") as stream:
        assert stream.read() == PNG


def test_scan_types_entries_as_cache_and_finds_the_pictures_byte_exact(tmp_path: Path) -> None:
    evidence = tmp_path / "ev" / "Profile" / "cache2" / "entries"
    evidence.mkdir(parents=True)
    (evidence / NAME_A).write_bytes(ENTRY_A)
    (evidence / NAME_B).write_bytes(ENTRY_B)
    (evidence.parent / "plain.jpg").write_bytes(JPEG[:100] + b"x" * 50)  # damaged, not an entry
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(f"cache2/entries/{NAME_A}", ENTRY_A)
    (tmp_path / "ev" / "profile-backup.zip").write_bytes(buf.getvalue())
    vigil = InProcessVigil(tmp_path / "home")
    vigil("scan", str(tmp_path / "ev"), "--case", "C", "--exhibit", "E", "-q", "--workers", "1",
          "--executor", "threads")
    vigil("report", "C", "--format", "json", "--out", str(tmp_path / "rep"))
    items = json.loads((tmp_path / "rep" / "report.json").read_text())["items"]
    entries = "Profile/cache2/entries"
    assert sorted((i["path"], i["mime"], i["media"], i["md5"]) for i in items) == sorted([
        (f"{entries}/{NAME_A}", "application/x-firefox-cache2", "other", _md5(ENTRY_A)),
        (f"{entries}/{NAME_A}!{URL_A}", "image/jpeg", "image", _md5(JPEG)),
        (f"{entries}/{NAME_B}", "application/x-firefox-cache2", "other", _md5(ENTRY_B)),
        (f"{entries}/{NAME_B}!{URL_B}", "image/png", "image", _md5(PNG)),
        ("Profile/cache2/plain.jpg", "image/jpeg", "other", _md5(JPEG[:100] + b"x" * 50)),
        ("profile-backup.zip", "application/zip", "other", _md5(buf.getvalue())),
        (f"profile-backup.zip!cache2/entries/{NAME_A}", "application/x-firefox-cache2",
         "other", _md5(ENTRY_A)),
        (f"profile-backup.zip!cache2/entries/{NAME_A}!{URL_A}", "image/jpeg", "image",
         _md5(JPEG)),
    ])


def test_a_picture_with_no_metadata_after_it_is_a_picture() -> None:
    assert list(expand_tree(Item("a.jpg", lambda: io.BytesIO(JPEG), size=len(JPEG)))) == []


def test_entries_deep_in_a_big_zip_are_walked_not_shipped_as_pictures(tmp_path: Path) -> None:
    """With two workers, members after the 16th of a container are shipped to the other
    worker if they are pictures; a cache2 entry starts with its picture, so it must be
    typed by its whole content first and walked where it is, body and all."""
    entries = [firefox_cache2_entry(encoded(100 + i), f":https://example.org/{i}.jpg")
               for i in range(40)]
    evidence = tmp_path / "ev"
    evidence.mkdir()
    with zipfile.ZipFile(evidence / "profile.zip", "w") as z:
        for i, entry in enumerate(entries):
            z.writestr(f"cache2/entries/E{i:02d}", entry)
    vigil = InProcessVigil(tmp_path / "home")
    vigil("scan", str(evidence), "--case", "C", "--exhibit", "E", "-q", "--workers", "2")
    vigil("report", "C", "--format", "json", "--out", str(tmp_path / "rep"))
    items = json.loads((tmp_path / "rep" / "report.json").read_text())["items"]
    bodies = sorted((i["path"], i["md5"]) for i in items if i["media"] == "image")
    assert bodies == sorted(
        (f"profile.zip!cache2/entries/E{i:02d}!https://example.org/{i}.jpg",
         _md5(encoded(100 + i)))
        for i in range(40)
    )
