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


def test_recorded_locator_reopens_without_walking_the_image(
    shared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a scan, the store holds each top-level image item's locator: the review app
    re-opens a member deep inside an image straight from it (no walk of the image)."""
    import os
    import subprocess
    import sys

    from sqlalchemy import create_engine, select

    from vigil.sources import image as image_mod
    from vigil.store.schema import contents, items
    from vigil.web import casedata

    evidence = shared / "fixtures" / "disk" / "generated" / "gen_mbr_disk.E01"
    env = {**os.environ, "VIGIL_HOME": str(tmp_path)}
    subprocess.run([sys.executable, "-m", "vigil", "scan", str(evidence), "--case", "R",
                    "--exhibit", "E", "-q", "--workers", "1"], env=env, check=True)
    member = "p2/NTFS/Archives/nested.zip!level1/inner.zip!level2/deep.txt"
    engine = create_engine(f"sqlite:///{tmp_path / 'cases' / 'R.sqlite'}")
    with engine.connect() as conn:
        content_id, case_id = conn.execute(
            select(contents.c.id, contents.c.case_id)
            .join(items, items.c.content_id == contents.c.id).where(items.c.path == member)
        ).one()
        unlocated = conn.execute(
            select(items.c.path).where(items.c.depth == 0, items.c.locator.is_(None))
        ).all()
        src = casedata.source(conn, case_id, content_id)
    assert unlocated == []
    # The same content is in both partitions; the review opens the first recorded.
    assert src is not None and src.top is not None
    assert src.item_path.endswith("/Archives/nested.zip!level1/inner.zip!level2/deep.txt")
    assert src.top.path == src.item_path.split("!")[0] and src.top.locator.how == "entry"
    monkeypatch.setattr(image_mod, "iter_image", lambda *a, **k: (_ for _ in ()).throw(
        AssertionError("the image was walked")))
    with open_item(evidence, src.item_path, src.top) as f:
        assert hashlib.md5(f.read()).hexdigest() == "8f00aa4c25d90bc1e9897c62045c2511"
