"""Deleted entries through pytsk3: NTFS entries opened by metadata address, FAT names,
collisions with live paths, and a corrupt directory."""

from __future__ import annotations

import hashlib
from pathlib import Path

from vigil.model import Item, ScanError
from vigil.sources import deleted
from vigil.sources.image import iter_image

DISK = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "disk"
SECRET = (2679, "9e7e07dcce0aecf8aa6e280f487af1e4")


def _md5(item: Item) -> tuple[int, str]:
    with item.open() as stream:
        data = stream.read()
    return len(data), hashlib.md5(data).hexdigest()


def test_ntfs_deleted_entry_read_by_metadata_address() -> None:
    items = {r.path: r for r in iter_image(DISK / "generated" / "gen_ntfs.raw")
             if isinstance(r, Item)}
    secret = items["NTFS/secret_plan.txt"]
    assert (secret.deleted, secret.allocated, secret.inode) == (True, False, "77")
    assert _md5(secret) == SECRET
    assert secret.modified is not None and secret.modified.tzinfo is not None


def test_fat12_deleted_flags() -> None:
    items = [r for r in iter_image(DISK / "generated" / "gen_fat12.raw") if isinstance(r, Item)]
    gone = {i.path: i for i in items if i.deleted}
    assert set(gone) == {
        "FAT12/secret_plan.txt", "FAT12/Documents/old_draft.txt", "FAT12/tiny_deleted.txt"
    }
    assert _md5(gone["FAT12/secret_plan.txt"]) == SECRET
    assert all(not i.allocated for i in gone.values())


def test_name_only_entries_have_no_size() -> None:
    items = [r for r in iter_image(DISK / "pytsk" / "image.raw") if isinstance(r, Item)]
    tilde = next(i for i in items if i.path == "EXT/passwords.txt~")
    assert tilde.size is None and tilde.inode == "0"
    assert _md5(tilde) == (0, hashlib.md5(b"").hexdigest())


def test_collision_with_live_path_gets_meta_suffix() -> None:
    from vigil.sources.image_read import open_image
    from vigil.sources.spool import BACKEND_LOCK

    with BACKEND_LOCK:
        reader, _notes = open_image(DISK / "generated" / "gen_ntfs.raw", False)
    taken = {"NTFS/secret_plan.txt"}
    found = [r for r in deleted.iter_deleted(reader, 0, "NTFS", taken) if isinstance(r, Item)]
    assert "NTFS/secret_plan.txt#77" in {i.path for i in found}


def test_corrupt_directory_is_recorded(tmp_path: Path) -> None:
    # Break the MFT entry of /Documents (entry 66): the walk
    # records an error for it and still yields the rest of the file system.
    data = bytearray((DISK / "generated" / "gen_ntfs.raw").read_bytes())
    cluster = int.from_bytes(data[11:13], "little") * data[13]
    mft = int.from_bytes(data[0x30:0x38], "little") * cluster
    entry = mft + 66 * 1024
    assert data[entry : entry + 4] == b"FILE"
    data[entry + 24 : entry + 1024] = b"\xa5" * (1024 - 24)
    image = tmp_path / "corrupt.raw"
    image.write_bytes(bytes(data))
    results = list(iter_image(image))
    errors = [r for r in results if isinstance(r, ScanError)]
    assert {e.stage for e in errors} == {"walk", "deleted"}
    assert any("MFT entry: 66" in e.reason for e in errors)
    items = {r.path: r for r in results if isinstance(r, Item)}
    # Entries listed before the broken one, and the deleted walk, still come through.
    assert _md5(items["NTFS/Archives/bundle.zip"])[1] == "370365a7e8c1ca48c203fafee93953e4"
    assert _md5(items["NTFS/secret_plan.txt"]) == SECRET
