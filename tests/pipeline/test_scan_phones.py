"""`vigil scan EXTRACTION` with no flag: the kind is found from the content, items keep
their device paths in the store and the report, damage is recorded, the rest scanned."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import jsonschema

from tests_support import REPO, InProcessVigil, run_vigil

sys.path.insert(0, str(REPO / "tests" / "sources"))

import build_phones as b

DCIM = "/private/var/mobile/Media/DCIM/100APPLE/"
WA = "/private/var/mobile/Containers/Shared/AppGroup/W/Message/Media/IMG-1.jpg"


def _report(vigil, case: str, out: Path) -> dict:
    vigil("report", case, "--format", "json,html", "--out", str(out))
    report = json.loads((out / "report.json").read_text())
    jsonschema.validate(report, json.loads((REPO / "docs" / "report-schema.json").read_text()))
    return report


def test_ufdr_scan_records_device_paths_and_missing_files(tmp_path: Path) -> None:
    ufdr = tmp_path / "PHONE-1.ufdr"
    b.build_ufdr(ufdr)
    home = tmp_path / "home"
    home.mkdir()
    summary = json.loads(
        run_vigil(["scan", str(ufdr), "--case", "C", "--exhibit", "PHONE-1", "--json"], home)
    )
    assert (summary["items"], summary["errors"], summary["media"]) == (
        5,
        1,
        {"image": 3, "other": 1},
    )

    def vigil(*args: str) -> str:
        return run_vigil(list(args), home)

    report = _report(vigil, "C", tmp_path / "r")
    assert report["exhibits"][0]["evidence_kind"] == "ufdr"
    assert report["exhibits"][0]["extraction"] == {
        "type": "Apple iPhone (File System)",
        "tool": "Cellebrite UFED (report by Physical Analyzer 7.61.0.27)",
        "version": "7.60.0.109",
        "device": "Apple iPhone 12 (A2403)",
    }
    # The court report names the extraction, its tool and version, and the device.
    html = (tmp_path / "r" / "report.html").read_text()
    for row in (
        "<tr><th>extraction</th><td>Apple iPhone (File System)</td></tr>",
        "<tr><th>extraction tool</th><td>Cellebrite UFED (report by Physical Analyzer "
        "7.61.0.27), version 7.60.0.109</td></tr>",
        "<tr><th>device</th><td>Apple iPhone 12 (A2403)</td></tr>",
    ):
        assert row in html
    assert sorted((i["path"], i["media"], i["size"]) for i in report["items"]) == sorted(
        [
            (DCIM + "IMG_0001.JPG", "image", len(b.picture(1))),
            (WA, "image", len(b.picture(2))),
            (DCIM + "IMG_0004.JPG", "other", None),
            ("report.xml", "other", len(b.report_xml().encode())),
            (b.UFDR_EXTRA, "image", len(b.picture(5, "PNG"))),
        ]
    )
    assert [(e["location"], e["stage"]) for e in report["errors"]] == [
        (DCIM + "IMG_0003.JPG", "source")
    ]
    wa = next(i for i in report["items"] if i["path"] == WA)
    assert (wa["created"], wa["modified"]) == (
        "2021-05-01T10:00:01.000000Z",
        "2021-05-01T10:01:01.000000Z",
    )
    assert "deleted" in wa["flags"]
    assert {i["path"]: i["app"] for i in report["items"]}[WA] == "WhatsApp"


def test_each_extraction_kind_is_scanned_by_its_own_paths(tmp_path: Path) -> None:
    vigil = InProcessVigil(tmp_path / "home")
    (tmp_path / "home").mkdir()
    backup = tmp_path / "backup"
    ios = b.build_ios_backup(backup)
    android = tmp_path / "ffs.tar"
    b.build_android_tar(android)
    takeout = tmp_path / "takeout-001.zip"
    taken = b.build_takeout(takeout)
    icloud = tmp_path / "iCloud Photos Part 1 of 2.zip"
    exported = b.build_icloud(icloud)
    for number, evidence in enumerate((backup, android, takeout, icloud)):
        vigil("scan", str(evidence), "--case", "K", "--exhibit", f"E{number}", "--quiet")
    report = _report(vigil, "K", tmp_path / "r")
    kinds = [e["evidence_kind"] for e in report["exhibits"]]
    assert kinds == ["ios_backup", "android_fs", "takeout", "icloud"]
    by_exhibit: dict[str, list[str]] = {}
    for item in report["items"]:
        by_exhibit.setdefault(item["exhibit"], []).append(item["path"])
    # Manifest.db is a SQLite file of the backup like any other: its MBFile BLOB cells
    # (property lists) are walked as containers too (sources/expand/sqlite.py).
    with sqlite3.connect(backup / "Manifest.db") as conn:
        blobs = [f"Manifest.db!BLOB(Files.file,rowid={r})" for (r,) in conn.execute(
            "select rowid from Files where file is not null")]
    assert sorted(by_exhibit["E0"]) == sorted(
        list(ios) + ["Info.plist", "Manifest.db", "Manifest.plist", *blobs]
    )
    assert sorted(by_exhibit["E1"]) == [
        "/data/data/org.telegram.messenger/cache/1_2.jpg",
        "/data/media/0/DCIM/Camera/IMG_20210501.jpg",
        "/data/media/0/Pictures/Screenshots/Screenshot_1.png",
        "/data/media/0/WhatsApp/Media/WhatsApp Images/IMG-20210501-WA0001.jpg",
    ]
    assert sorted(by_exhibit["E2"]) == sorted(taken)
    photo = next(i for i in report["items"] if i["path"].endswith("/IMG_0001(1).jpg"))
    assert photo["created"] == "2019-04-23T06:15:00.000000Z"
    assert sorted(by_exhibit["E3"]) == sorted(exported)
    deleted = next(i for i in report["items"] if i["path"].endswith("/IMG_0104.JPG"))
    assert (deleted["created"], "deleted" in deleted["flags"]) == (
        "2021-12-31T23:59:00.000000Z",
        True,
    )
    assert sorted((e["exhibit"], e["location"]) for e in report["errors"]) == [
        ("E0", "CameraRollDomain/Media/DCIM/100APPLE/IMG_0002.JPG"),
        ("E1", "/sdcard"),
        ("E3", b.ICLOUD_PART + "Photos/Photo Details.csv"),
    ]


def test_encrypted_backup_scan_with_password_file_hashes_the_plain_files(tmp_path: Path) -> None:
    import hashlib

    backup = tmp_path / "backup"
    password = b"benign test password"
    written = b.build_ios_backup(backup, password=password)
    secret = tmp_path / "password.txt"
    secret.write_bytes(password + b"\n")
    home = tmp_path / "home"
    home.mkdir()
    # Two worker processes: each reads the password file and decrypts its own units.
    run_vigil(
        ["scan", str(backup), "--case", "X", "--exhibit", "IPHONE", "--workers", "2",
         "--password-file", str(secret), "-q"],
        home,
    )
    report = _report(lambda *a: run_vigil(list(a), home), "X", tmp_path / "r")
    sha = {i["path"]: i["sha256"] for i in report["items"]}
    assert {p: sha[p] for p in written} == {
        p: hashlib.sha256(data).hexdigest() for p, data in written.items()
    }
    camera_path = "CameraRollDomain/Media/DCIM/100APPLE/IMG_0001.JPG"
    camera = next(i for i in report["items"] if i["path"] == camera_path)
    assert (camera["media"], camera["modified"]) == ("image", "2021-05-01T10:00:00.000000Z")
    assert [e["location"] for e in report["errors"]] == [
        "CameraRollDomain/Media/DCIM/100APPLE/IMG_0002.JPG"
    ]


def test_damaged_extractions_give_records_and_every_present_file_is_hashed(
    tmp_path: Path,
) -> None:
    import hashlib

    vigil = InProcessVigil(tmp_path / "home")
    (tmp_path / "home").mkdir()
    # A UFDR cut inside its last member: no central directory, one member short.
    ufdr = tmp_path / "cut.ufdr"
    stored = b.build_ufdr(ufdr)
    data = ufdr.read_bytes()
    ufdr.write_bytes(data[: data.index(b.UFDR_EXTRA.encode()) + len(b.UFDR_EXTRA) + 100])
    # An iOS backup whose Manifest.db is overwritten in its first pages.
    backup = tmp_path / "backup"
    b.build_ios_backup(backup)
    db = (backup / "Manifest.db").read_bytes()
    (backup / "Manifest.db").write_bytes(db[:100] + b"\xff" * 400 + db[500:])
    for number, evidence in enumerate((ufdr, backup)):
        vigil("scan", str(evidence), "--case", "D", "--exhibit", f"E{number}", "--quiet")
    report = _report(vigil, "D", tmp_path / "r")
    sha = {(i["exhibit"], i["path"]): i["sha256"] for i in report["items"]}
    assert {p: sha[("E0", p)] for p in (DCIM + "IMG_0001.JPG", WA)} == {
        DCIM + "IMG_0001.JPG": hashlib.sha256(stored["files/Image/IMG_0001.JPG"]).hexdigest(),
        WA: hashlib.sha256(stored["files/Image/IMG-1.jpg"]).hexdigest(),
    }
    on_disk = {
        str(p.relative_to(backup)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in backup.rglob("*")
        if p.is_file()
    }
    assert {p: sha[("E1", p)] for p in on_disk} == on_disk
    errors = sorted((e["exhibit"], e["location"], e["stage"]) for e in report["errors"])
    # The missing report entry, the lost central directory, the cut member (listed, then
    # short when read); the manifest unreadable (and as a SQLite file walked, damaged).
    assert errors == [
        ("E0", DCIM + "IMG_0003.JPG", "source"),
        ("E0", "cut.ufdr", "source"),
        ("E0", b.UFDR_EXTRA, "read"),
        ("E0", b.UFDR_EXTRA, "source"),
        ("E1", "Manifest.db", "expand.sqlite"),
        ("E1", "Manifest.db", "source"),
    ]
