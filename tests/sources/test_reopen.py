import hashlib
from pathlib import Path

import pytest

from vigil.demo import build_demo_evidence
from vigil.errors import EvidenceError
from vigil.sources.reopen import open_item
from vigil.sources.sniff import sniff


def test_reopens_folder_files_and_archive_members(tmp_path: Path) -> None:
    build_demo_evidence(tmp_path)
    rel = "Users/alex/Pictures/phone/IMG_0003.jpg"
    with open_item(tmp_path, rel) as f:
        original = f.read()
    assert original == (tmp_path / rel).read_bytes()
    with open_item(tmp_path, "Users/alex/Documents/backup.zip!old/scan-0001.jpg") as f:
        member = f.read()
    assert hashlib.sha256(member).hexdigest() == hashlib.sha256(original).hexdigest()
    with pytest.raises(EvidenceError):
        open_item(tmp_path, "Users/alex/Documents/backup.zip!old/missing.jpg")
    with pytest.raises(EvidenceError):
        open_item(tmp_path, "../outside.txt")


def test_reopens_members_inside_a_disk_image(shared: Path) -> None:
    image = shared / "fixtures" / "disk" / "generated" / "gen_mbr_disk.E01"
    with open_item(image, "p2/NTFS/Archives/nested.zip!level1/inner.zip!level2/deep.txt") as f:
        data = f.read()
    assert hashlib.md5(data).hexdigest() == "8f00aa4c25d90bc1e9897c62045c2511"
    with open_item(image, "p1/FAT32/Documents/notes.md") as f:
        assert sniff(f.read(16)).media == "other"
