"""A single loose file (not a disk image) is evidence too: it and its members are items."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import jsonschema

from tests_support import REPO, run_vigil
from vigil.demo import draw_landscape


def test_loose_zip_is_scanned_with_its_members(tmp_path: Path) -> None:
    picture = tmp_path / "p.jpg"
    draw_landscape(3, (120, 90)).save(picture, "JPEG")
    evidence = tmp_path / "phone-export.zip"
    with zipfile.ZipFile(evidence, "w") as zf:
        zf.write(picture, "DCIM/p.jpg")
        zf.writestr("notes.txt", "benign\n")
    home = tmp_path / "home"
    home.mkdir()
    summary = json.loads(
        run_vigil(["scan", str(evidence), "--case", "L", "--exhibit", "Z", "--json"], home)
    )
    assert (summary["items"], summary["errors"]) == (3, 0)
    run_vigil(["report", "L", "--format", "json", "--out", str(tmp_path / "r")], home)
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["exhibits"][0]["evidence_kind"] == "file"
    jsonschema.validate(report, json.loads((REPO / "docs" / "report-schema.json").read_text()))
    assert sorted((i["path"], i["media"]) for i in report["items"]) == [
        ("phone-export.zip", "other"),
        ("phone-export.zip!DCIM/p.jpg", "image"),
        ("phone-export.zip!notes.txt", "other"),
    ]
