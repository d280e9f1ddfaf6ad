"""End-to-end: `vigil scan` of forensic images lists exactly what EXPECTED.json lists."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests_support import SHARED

VIGIL = [sys.executable, "-m", "vigil"]
EXPECTED = json.loads((SHARED / "fixtures" / "disk" / "EXPECTED.json").read_text())
IMAGES = [
    "generated/gen_mbr_disk.E01",
    "generated/gen_ntfs.raw",
    "generated/gen_fat12.raw",
    "dfvfs/ext2.split.E01",
    "dfvfs/image-differential.vhd",
    "dfvfs/ext2.vmdk",
    "sleuthkit/image.qcow",
]


def _expected(image: str) -> Counter:
    found: Counter = Counter()
    for fs in EXPECTED[image]:
        for a in fs["allocated"]:
            if a["type"] != "file":
                continue
            found[(a["path"], a["md5"], False)] += 1
            for stream, info in (a.get("ads") or {}).items():
                found[(f"{a['path']}:{stream}", info["md5"], False)] += 1
        for d in fs["deleted"]:
            found[(d["path"], d.get("md5"), True)] += 1
    return found


def _fs_relative(path: str) -> str:
    # "p1/FAT32/Documents/x" or "NTFS/Documents/x" -> "/Documents/x"
    parts = path.split("/")
    fs_index = 1 if parts[0].startswith(("p", "lvm", "vss", "apfs")) and len(parts) > 2 else 0
    if parts[0] in {"NTFS", "FAT12", "FAT16", "FAT32", "EXFAT", "EXT", "HFS", "APFS", "ISO9660"}:
        fs_index = 0
    rel = "/" + "/".join(parts[fs_index + 1 :])
    # A deleted name that collides with a live one carries "#<meta_addr>".
    return rel.split("#", 1)[0]


@pytest.mark.parametrize("image", IMAGES)
def test_scan_lists_exactly_the_expected_files(image: str, tmp_path: Path) -> None:
    env = {**os.environ, "VIGIL_HOME": str(tmp_path)}
    proc = subprocess.run(
        [*VIGIL, "scan", str(SHARED / "fixtures" / "disk" / image), "--case", "C", "--exhibit",
         "E", "-q"],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    with sqlite3.connect(f"file:{tmp_path / 'cases' / 'C.sqlite'}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "select i.path, c.md5, i.deleted from items i left join contents c "
            "on c.id = i.content_id"
        ).fetchall()
        errors = conn.execute("select location, stage, reason from errors").fetchall()
    got: Counter = Counter()
    for path, md5, deleted in rows:
        if "!" in path or "@" in path or "$OrphanFiles" in path:
            continue
        got[(_fs_relative(path), md5, bool(deleted))] += 1
    assert got == _expected(image)
    # The only records: each symbolic link, listed and not followed.
    links = sorted(a["path"] for fs in EXPECTED[image] for a in fs["allocated"]
                   if a["type"] == "link")
    assert sorted(_fs_relative(location) for location, _s, _r in errors) == links
    assert all(stage == "walk" and reason.startswith("symbolic link to ")
               for _l, stage, reason in errors)
