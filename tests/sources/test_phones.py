"""Phone extractions and cloud returns: exact items, device paths, times, damage as records."""

from __future__ import annotations

import os
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import build_phones as b

from vigil.model import Item, ScanError
from vigil.sources import SourceOptions, evidence_kind, open_evidence
from vigil.sources.extraction import extraction_info, items_for_unit
from vigil.sources.ufdr import read_report


def _t(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _listing(path: Path) -> list[tuple]:
    out: list[tuple] = []
    for entry in open_evidence(path):
        if isinstance(entry, ScanError):
            out.append(("error", entry.location, entry.reason))
        else:
            out.append((entry.path, entry.size, entry.deleted, entry.encrypted))
    return out


def _bytes(item: Item) -> bytes:
    with item.open() as stream:
        return stream.read()


def _items(path: Path) -> dict[str, Item]:
    return {i.path: i for i in open_evidence(path) if isinstance(i, Item)}


# --- iOS backup --------------------------------------------------------------------------

WA_IOS = "AppDomainGroup-group.net.whatsapp.WhatsApp.shared/Message/Media/a/b/IMG-1.jpg"
CAMERA = "CameraRollDomain/Media/DCIM/100APPLE/IMG_0001.JPG"
THUMB = "CameraRollDomain/Media/PhotoData/Thumbnails/V2/DCIM/100APPLE/IMG_0001.JPG/5005.JPG"
PREFS = "HomeDomain/Library/Preferences/com.example.settings.plist"


def _backup_listing(root: Path, written: dict[str, bytes], encrypted: bool) -> list[tuple]:
    """The listing of build_ios_backup's folder (decrypted when ``encrypted``)."""
    missing = b.file_id(*b.IOS_MISSING)
    return [
        (WA_IOS, len(written[WA_IOS]), False, False),
        (CAMERA, len(written[CAMERA]), False, False),
        (
            "error",
            "CameraRollDomain/Media/DCIM/100APPLE/IMG_0002.JPG",
            f"in Manifest.db as {missing[:2]}/{missing}, not in the backup",
        ),
        (THUMB, len(written[THUMB]), False, False),
        (PREFS, len(written[PREFS]), False, False),
        ("Info.plist", os.path.getsize(root / "Info.plist"), False, False),
        ("Manifest.db", os.path.getsize(root / "Manifest.db"), False, encrypted),
        ("Manifest.plist", os.path.getsize(root / "Manifest.plist"), False, False),
        (b.IOS_ORPHAN, len(written[b.IOS_ORPHAN]), False, encrypted),
    ]


def test_ios_backup_items_are_domain_paths_with_manifest_sizes_and_times(tmp_path: Path) -> None:
    root = tmp_path / "backup"
    written = b.build_ios_backup(root)
    assert evidence_kind(root) == "ios_backup"
    assert _listing(root) == _backup_listing(root, written, encrypted=False)
    items = _items(root)
    # Times and inode from the MBFile records (IOS_FILES order: camera 0, thumb 1, wa 2).
    assert (items[CAMERA].modified, items[CAMERA].created, items[CAMERA].changed) == (
        _t(b.T0),
        _t(b.T0 - 3600),
        _t(b.T0),
    )
    assert (items[WA_IOS].modified, items[WA_IOS].inode) == (_t(b.T0 + 120), "1002")
    assert extraction_info("ios_backup", root) == {
        "extraction_type": "iOS backup",
        "extraction_tool": "iTunes/Finder backup",
        "extraction_version": "backup format 10.0",
        "device": "Test phone (iOS 17.2)",
    }
    assert {p: _bytes(items[p]) for p in (CAMERA, THUMB, WA_IOS, b.IOS_ORPHAN)} == {
        p: written[p] for p in (CAMERA, THUMB, WA_IOS, b.IOS_ORPHAN)
    }


PASSWORD = b"benign test password"


def test_encrypted_ios_backup_with_password_gives_plain_files_by_domain_path(
    tmp_path: Path,
) -> None:
    root = tmp_path / "backup"
    written = b.build_ios_backup(root, password=PASSWORD)
    assert (root / "Manifest.db").read_bytes()[:16] != b"SQLite format 3\0"
    secret = tmp_path / "password.txt"
    secret.write_bytes(PASSWORD + b"\n")
    listing = [
        (e.path, e.size, e.deleted, e.encrypted) if isinstance(e, Item)
        else ("error", e.location, e.reason)
        for e in open_evidence(root, SourceOptions(password_file=str(secret)))
    ]
    # Plain sizes (from the records), not encrypted; the backup's own files by their names,
    # Manifest.db and a file the manifest does not name still encrypted as stored.
    assert listing == _backup_listing(root, written, encrypted=True)
    items = {
        i.path: i
        for i in open_evidence(root, SourceOptions(password_file=str(secret)))
        if isinstance(i, Item)
    }
    assert {p: _bytes(items[p]) for p in written} == written
    assert (items[CAMERA].modified, items[CAMERA].inode) == (_t(b.T0), "1000")
    # Decrypted as read: a seek into the middle costs one block, the bytes are the same.
    with items[CAMERA].open() as stream:
        stream.seek(1000)
        assert stream.read(333) == written[CAMERA][1000:1333]
        assert stream.read() == written[CAMERA][1333:]


def test_encrypted_ios_backup_without_password_lists_what_is_readable(tmp_path: Path) -> None:
    root = tmp_path / "backup"
    written = b.build_ios_backup(root, password=PASSWORD)
    listing = _listing(root)
    assert listing[0] == (
        "error",
        "backup",
        "encrypted backup: its files are scanned as stored (encrypted) by their names in the "
        "backup; give the backup password with --password-file to decrypt it",
    )
    assert listing[1][:2] == ("error", "Manifest.db")
    assert listing[1][2].startswith("manifest unreadable (file is not a database)")
    # The folder's own order: its files, then each fileID folder.
    on_disk = sorted(
        (str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()),
        key=lambda name: ("/" in name, name),
    )
    assert len(on_disk) == 8
    assert listing[2:] == [
        (name, os.path.getsize(root / name), False, "/" in name or name == "Manifest.db")
        for name in on_disk
    ]
    assert _bytes(_items(root)[b.IOS_ORPHAN]) == written[b.IOS_ORPHAN]


def test_encrypted_ios_backup_with_a_wrong_password_says_so_and_lists_the_files(
    tmp_path: Path,
) -> None:
    root = tmp_path / "backup"
    b.build_ios_backup(root, password=PASSWORD)
    secret = tmp_path / "password.txt"
    secret.write_bytes(b"not the password")
    listing = list(open_evidence(root, SourceOptions(password_file=str(secret))))
    assert [(e.location, e.reason) for e in listing[:2] if isinstance(e, ScanError)] == [
        (
            "backup",
            "encrypted backup not decrypted: wrong backup password (class key does not "
            "unwrap); its files are scanned as stored (encrypted) by their names in the backup",
        ),
        ("Manifest.db", listing[1].reason),
    ]
    names = sorted(i.path for i in listing if isinstance(i, Item))
    assert names == sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    missing = tmp_path / "nowhere.txt"
    first = next(iter(open_evidence(root, SourceOptions(password_file=str(missing)))))
    assert first.reason.startswith(
        "encrypted backup not decrypted: password file unreadable: No such file or directory"
    )


def test_corrupt_manifest_db_gives_a_record_and_every_file_by_its_backup_name(
    tmp_path: Path,
) -> None:
    root = tmp_path / "backup"
    b.build_ios_backup(root)
    data = (root / "Manifest.db").read_bytes()
    (root / "Manifest.db").write_bytes(data[:100] + b"\xff" * 400 + data[500:])
    listing = _listing(root)
    errors = [e for e in listing if e[0] == "error"]
    assert [e[1] for e in errors] == ["Manifest.db"]
    names = [e[0] for e in listing if e[0] != "error"]
    on_disk = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert sorted(names) == on_disk and len(names) == 8


# --- UFDR --------------------------------------------------------------------------------

DCIM = "/private/var/mobile/Media/DCIM/100APPLE/"
WA = "/private/var/mobile/Containers/Shared/AppGroup/W/Message/Media/IMG-1.jpg"


def test_ufdr_items_are_device_paths_with_report_times_deleted_state_and_app(
    tmp_path: Path,
) -> None:
    ufdr = tmp_path / "PHONE-1.ufdr"
    stored = b.build_ufdr(ufdr)
    assert evidence_kind(ufdr) == "ufdr"
    report_size = zipfile.ZipFile(ufdr).getinfo("report.xml").file_size
    assert _listing(ufdr) == [
        (DCIM + "IMG_0001.JPG", len(stored["files/Image/IMG_0001.JPG"]), False, False),
        (WA, len(stored["files/Image/IMG-1.jpg"]), True, False),
        (
            "error",
            DCIM + "IMG_0003.JPG",
            "named in report.xml (Local Path 'files/Image/IMG_0003.JPG') but not in the archive",
        ),
        # Deleted, no content recovered: an item without bytes.
        (DCIM + "IMG_0004.JPG", None, True, False),
        ("report.xml", report_size, False, False),
        (b.UFDR_EXTRA, len(stored[b.UFDR_EXTRA]), False, False),
    ]
    items = _items(ufdr)
    assert (items[WA].created, items[WA].modified, items[WA].accessed) == (
        _t(b.T0 + 1),
        _t(b.T0 + 61),
        _t(b.T0 + 121),
    )
    assert items[WA].allocated is False
    assert _bytes(items[WA]) == stored["files/Image/IMG-1.jpg"]
    assert _bytes(items[b.UFDR_EXTRA]) == stored[b.UFDR_EXTRA]
    report, errors = read_report(ufdr)
    assert errors == [] and report is not None
    assert (report.version, report.extraction) == ("7.60.0.0", "Apple iPhone (File System)")
    assert [(f.path, f.app) for f in report.files] == [
        (DCIM + "IMG_0001.JPG", None),
        (WA, "WhatsApp"),
        (DCIM + "IMG_0003.JPG", None),
        (DCIM + "IMG_0004.JPG", None),
    ]
    assert {p: i.app for p, i in items.items()} == {
        DCIM + "IMG_0001.JPG": None,
        WA: "WhatsApp",
        DCIM + "IMG_0004.JPG": None,
        "report.xml": None,
        b.UFDR_EXTRA: None,
    }
    assert extraction_info("ufdr", ufdr) == {
        "extraction_type": "Apple iPhone (File System)",
        "extraction_tool": "Cellebrite UFED (report by Physical Analyzer 7.61.0.27)",
        "extraction_version": "7.60.0.109",
        "device": "Apple iPhone 12 (A2403)",
    }


def test_truncated_ufdr_lists_members_from_local_headers(tmp_path: Path) -> None:
    ufdr = tmp_path / "cut.ufdr"
    stored = b.build_ufdr(ufdr)
    packed = zipfile.ZipFile(ufdr).getinfo(b.UFDR_EXTRA).compress_size
    data = ufdr.read_bytes()
    # Cut inside the last member: the central directory and the member's tail are gone.
    cut = data.index(b.UFDR_EXTRA.encode()) + len(b.UFDR_EXTRA) + 100
    ufdr.write_bytes(data[:cut])
    assert evidence_kind(ufdr) == "ufdr"
    listing = _listing(ufdr)
    assert listing[0][:2] == ("error", "cut.ufdr")
    assert "central directory unreadable" in listing[0][2]
    assert listing[1] == ("error", b.UFDR_EXTRA, f"zip member truncated: 100 of {packed} bytes")
    assert [e[0] for e in listing[2:]] == [
        DCIM + "IMG_0001.JPG",
        WA,
        "error",
        DCIM + "IMG_0004.JPG",
        "report.xml",
        b.UFDR_EXTRA,
    ]
    items = _items(ufdr)
    assert _bytes(items[WA]) == stored["files/Image/IMG-1.jpg"]
    with pytest.raises(OSError):
        _bytes(items[b.UFDR_EXTRA])


def test_damaged_report_xml_keeps_every_archive_member(tmp_path: Path) -> None:
    ufdr = tmp_path / "bad-report.ufdr"
    xml = b.report_xml()
    cut = xml.index("IMG-1.jpg") + 20  # inside the second <file>
    with zipfile.ZipFile(ufdr, "w") as zf:
        zf.writestr("report.xml", xml[:cut])
        zf.writestr("files/Image/IMG_0001.JPG", b.picture(1))
        zf.writestr("files/Image/IMG-1.jpg", b.picture(2))
    listing = _listing(ufdr)
    assert listing[0][:2] == ("error", "report.xml")
    assert listing[0][2].startswith("report.xml damaged, read up to there")
    assert [e[0] for e in listing[1:]] == [
        DCIM + "IMG_0001.JPG",
        "report.xml",
        "files/Image/IMG-1.jpg",
    ]


# --- Android -----------------------------------------------------------------------------

ANDROID = [
    ("/data/media/0/DCIM/Camera/IMG_20210501.jpg", 1),
    ("/data/media/0/WhatsApp/Media/WhatsApp Images/IMG-20210501-WA0001.jpg", 2),
    ("/data/data/org.telegram.messenger/cache/1_2.jpg", 3),
    ("/data/media/0/Pictures/Screenshots/Screenshot_1.png", 4),
]
ALIAS_RECORD = (
    "error",
    "/sdcard",
    "alias of /data/media/0: 1 files there are the same files and were scanned once under "
    "/data/media/0; 1 found only here",
)


@pytest.mark.parametrize(
    ("name", "build", "root"),
    [("fs.tar", b.build_android_tar, ""), ("ffs.zip", b.build_android_zip, "Dump/")],
)
def test_android_file_system_items_by_device_path_aliases_once(
    tmp_path: Path, name: str, build, root: str
) -> None:
    evidence = tmp_path / name
    build(evidence, root)
    assert evidence_kind(evidence) == "android_fs"
    sizes = {p: len(b._android_bytes(seed, p)) for p, seed in ANDROID}
    assert _listing(evidence) == [(p, sizes[p], False, False) for p, _ in ANDROID] + [
        ALIAS_RECORD
    ]
    items = _items(evidence)
    assert {p: _bytes(items[p]) for p, _ in ANDROID} == {
        p: b._android_bytes(seed, p) for p, seed in ANDROID
    }
    assert items[ANDROID[0][0]].modified == _t(b.T0)


def test_truncated_android_tar_keeps_the_members_before_the_damage(tmp_path: Path) -> None:
    evidence = tmp_path / "cut.tar"
    b.build_android_tar(evidence)
    data = evidence.read_bytes()
    # Cut in the header block of the third member.
    third = data.index(b"data/data/org.telegram")
    evidence.write_bytes(data[: third + 200])
    assert _listing(evidence) == [
        ("error", "cut.tar", f"tar damaged at offset {third}, listing ends: no member "
         "header there"),
        (ANDROID[0][0], len(b._android_bytes(1, "x.jpg")), False, False),
        (ANDROID[1][0], len(b._android_bytes(2, "x.jpg")), False, False),
    ]


# --- Google Takeout ----------------------------------------------------------------------


def test_takeout_pictures_carry_capture_time_from_sidecars(tmp_path: Path) -> None:
    evidence = tmp_path / "takeout-001.zip"
    written = b.build_takeout(evidence)
    assert evidence_kind(evidence) == "takeout"
    assert [e[:2] for e in _listing(evidence)] == [(n, len(d)) for n, d in written.items()]
    items = _items(evidence)
    taken = {b.TAKEOUT_DIR + n: t for n, _s, t in b.TAKEOUT_FILES}
    assert {p: items[p].created for p in taken} == {p: _t(t) for p, t in taken.items()}
    assert items["Takeout/archive_browser.html"].created is None
    exported = datetime(2024, 1, 2, 3, 4, 6, tzinfo=UTC)
    assert items[b.TAKEOUT_DIR + "IMG_0001.jpg"].modified == exported
    assert {p: _bytes(items[p]) for p in written} == written


# --- Workers -----------------------------------------------------------------------------


def test_a_worker_reaches_its_units_items_by_path_without_relisting(tmp_path: Path) -> None:
    ufdr = tmp_path / "PHONE-1.ufdr"
    stored = b.build_ufdr(ufdr)
    paths = (b.UFDR_EXTRA, WA)
    first = items_for_unit("ufdr", ufdr, paths)
    assert [i.path for i in first] == list(paths)
    assert [_bytes(i) for i in first] == [stored[b.UFDR_EXTRA], stored["files/Image/IMG-1.jpg"]]
    # The second unit of the same scan uses the index the first one built.
    again = items_for_unit("ufdr", ufdr, (DCIM + "IMG_0001.JPG",))
    assert again[0] is _index_item(ufdr, DCIM + "IMG_0001.JPG")
    assert items_for_unit("ufdr", ufdr, ("/not/there",)) == []


def _index_item(evidence: Path, path: str) -> Item:
    from vigil.sources import extraction

    (index,) = extraction._INDEX.values()
    return index[path]


def test_review_reopens_an_extraction_item_by_its_device_path(tmp_path: Path) -> None:
    from vigil.errors import EvidenceError
    from vigil.sources.reopen import open_item

    ufdr = tmp_path / "PHONE-1.ufdr"
    stored = b.build_ufdr(ufdr)
    with open_item(ufdr, WA) as stream:
        assert stream.read() == stored["files/Image/IMG-1.jpg"]
    root = tmp_path / "backup"
    written = b.build_ios_backup(root)
    camera = "CameraRollDomain/Media/DCIM/100APPLE/IMG_0001.JPG"
    with open_item(root, camera) as stream:
        assert stream.read() == written[camera]
    with pytest.raises(EvidenceError, match="no item for"):
        open_item(root, "CameraRollDomain/Media/DCIM/100APPLE/IMG_0009.JPG")
    encrypted = tmp_path / "encrypted"
    written = b.build_ios_backup(encrypted, password=PASSWORD)
    secret = tmp_path / "password.txt"
    secret.write_bytes(PASSWORD)
    with open_item(encrypted, camera, password_file=str(secret)) as stream:
        assert stream.read() == written[camera]


def test_protected_ufdr_member_is_an_item_whose_read_names_the_password(tmp_path: Path) -> None:
    ufdr = tmp_path / "protected.ufdr"
    with zipfile.ZipFile(ufdr, "w") as zf:
        zf.writestr("report.xml", b.report_xml())
        zf.writestr("files/Image/IMG_0001.JPG", b.picture(1))
    data = bytearray(ufdr.read_bytes())
    # Set the "encrypted" flag of the picture in its local header and central directory.
    local = data.index(b"files/Image/IMG_0001.JPG")
    central = data.index(b"files/Image/IMG_0001.JPG", local + 1)
    data[local - 30 + 6] |= 1
    data[central - 46 + 8] |= 1
    ufdr.write_bytes(bytes(data))
    item = _items(ufdr)[DCIM + "IMG_0001.JPG"]
    assert item.encrypted is True
    with pytest.raises(OSError, match="encrypted: needs the archive password"):
        item.open()


class _Unseekable:
    """A write-only sink zipfile cannot seek in: it writes data descriptors after members."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, chunk: bytes) -> int:
        self.data += chunk
        return len(chunk)

    def flush(self) -> None:
        pass

    def tell(self) -> int:
        raise OSError("not seekable")

    def seekable(self) -> bool:
        return False


def test_streamed_zip_without_central_directory_is_delimited_by_inflating(
    tmp_path: Path,
) -> None:
    sink = _Unseekable()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as zf:  # type: ignore[arg-type]
        zf.writestr("report.xml", b.report_xml())
        zf.writestr("files/Image/IMG_0001.JPG", b.picture(1))
        zf.writestr("files/Image/IMG-1.jpg", b.picture(2))
    data = bytes(sink.data)
    assert data[6] & 0x8, "members carry data descriptors"
    ufdr = tmp_path / "streamed.ufdr"
    ufdr.write_bytes(data[: data.index(b"PK\x01\x02")])  # the central directory is lost
    listing = _listing(ufdr)
    assert listing[0][:2] == ("error", "streamed.ufdr")
    items = _items(ufdr)
    assert _bytes(items[DCIM + "IMG_0001.JPG"]) == b.picture(1)
    assert _bytes(items[WA]) == b.picture(2)
    assert (items[WA].deleted, items[WA].size) == (True, len(b.picture(2)))


def test_zip_cut_inside_a_member_header_says_so(tmp_path: Path) -> None:
    whole = tmp_path / "whole.ufdr"
    b.build_ufdr(whole)
    data = whole.read_bytes()
    header = data.index(b"PK\x03\x04", data.index(b"files/Image/IMG-1.jpg") + 1)
    cut = tmp_path / "cut.ufdr"
    cut.write_bytes(data[: header + 20])
    listing = _listing(cut)
    assert ("error", f"cut.ufdr@{header}", "zip ends inside a member header") in listing
    assert [e[0] for e in listing if e[0] != "error"] == [
        DCIM + "IMG_0001.JPG",
        WA,
        DCIM + "IMG_0004.JPG",
        "report.xml",
    ]


# --- iCloud Photos -----------------------------------------------------------------------


def test_icloud_photos_carry_capture_time_and_deleted_state_from_photo_details(
    tmp_path: Path,
) -> None:
    evidence = tmp_path / "iCloud Photos Part 1 of 2.zip"
    written = b.build_icloud(evidence)
    assert evidence_kind(evidence) == "icloud"
    part = b.ICLOUD_PART
    listing = _listing(evidence)
    assert listing[0] == (
        "error",
        part + "Photos/Photo Details.csv",
        "line 4: date not read: 'not a date'",
    )
    assert listing[1:] == [
        (name, len(data), name.endswith("IMG_0104.JPG"), False) for name, data in written.items()
    ]
    items = _items(evidence)
    assert {n: items[n].created for n in written} == {
        **{n: None for n in written},
        part + "Photos/IMG_0101.JPG": datetime(2022, 6, 4, 12, 11, tzinfo=UTC),
        part + "Photos/IMG_0102.PNG": datetime(2024, 1, 15, 9, 30, tzinfo=UTC),
        part + "Recently Deleted/IMG_0104.JPG": datetime(2021, 12, 31, 23, 59, tzinfo=UTC),
    }
    assert items[part + "Photos/IMG_0101.JPG"].modified == datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
    assert {n: _bytes(items[n]) for n in written} == written


def test_live_photo_pairs_only_one_still_with_one_video_of_the_same_name() -> None:
    from vigil.sources.live_photos import pairs

    assert pairs(
        [
            "DCIM/IMG_0010.HEIC",
            "DCIM/IMG_0010.MOV",
            "DCIM/IMG_0011.JPG",  # a still with no video
            "DCIM/IMG_0012.HEIC",  # two stills of one name: which one is the video's?
            "DCIM/IMG_0012.JPG",
            "DCIM/IMG_0012.MOV",
            "Other/IMG_0010.MOV",  # another folder
            "DCIM/img_0013.jpeg",
            "DCIM/IMG_0013.mov",
        ]
    ) == {
        "DCIM/IMG_0010.HEIC": "DCIM/IMG_0010.MOV",
        "DCIM/IMG_0010.MOV": "DCIM/IMG_0010.HEIC",
        "DCIM/img_0013.jpeg": "DCIM/IMG_0013.mov",
        "DCIM/IMG_0013.mov": "DCIM/img_0013.jpeg",
    }


def test_encrypted_backup_with_a_damaged_manifest_lists_every_file_as_stored(
    tmp_path: Path,
) -> None:
    root = tmp_path / "backup"
    b.build_ios_backup(root, password=PASSWORD)
    db = (root / "Manifest.db").read_bytes()
    (root / "Manifest.db").write_bytes(db[:4096] + b"\x00" * 4096 + db[8192:])
    secret = tmp_path / "password.txt"
    secret.write_bytes(PASSWORD)
    listing = list(open_evidence(root, SourceOptions(password_file=str(secret))))
    errors = [(e.location, e.reason.split(" (")[0]) for e in listing if isinstance(e, ScanError)]
    assert errors == [("Manifest.db", "manifest unreadable")]
    on_disk = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    items = [i for i in listing if isinstance(i, Item)]
    assert sorted(i.path for i in items) == on_disk
    assert {i.path for i in items if i.encrypted} == {
        p for p in on_disk if "/" in p or p == "Manifest.db"
    }
