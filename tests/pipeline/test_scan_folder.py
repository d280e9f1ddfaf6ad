"""End-to-end: import hash sets and scan a folder with the real command line."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests_support import VIGIL, run_vigil
from vigil.demo import build_demo_evidence, draw_landscape, write_demo_hashsets


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("scan")
    home = base / "home"
    home.mkdir()
    evidence = base / "evidence"
    roles = build_demo_evidence(evidence)
    locked = evidence / "Users" / "alex" / "Documents" / "locked.jpg"
    draw_landscape(99, (64, 64)).save(locked, "JPEG")
    locked.chmod(0)
    vics, good = write_demo_hashsets(evidence, roles, base / "sets")
    run_vigil(
        [
            "hashset",
            "import",
            str(vics),
            "--name",
            "known",
            "--scheme",
            "uk",
            "--category-map",
            "1=A,2=B,3=C",
        ],
        home,
    )
    run_vigil(["hashset", "import", str(good), "--name", "good", "--known-good"], home)
    summary = json.loads(
        run_vigil(
            ["scan", str(evidence), "--case", "C1", "--exhibit", "EX1", "--json"],
            home,
            drop_read_override=True,
        )
    )
    out = base / "report"
    run_vigil(["report", "C1", "--format", "json,csv,html", "--out", str(out)], home)
    report = json.loads((out / "report.json").read_text())
    return {"summary": summary, "report": report, "out": out, "home": home, "evidence": evidence}


def test_summary_counts(scanned: dict) -> None:
    s = scanned["summary"]
    # 19 files on disk (one unreadable) plus the two members of backup.zip.
    assert s["items"] == 21
    assert s["errors"] == 1
    assert s["status"] == "complete"


def test_report_totals_are_exact(scanned: dict) -> None:
    t = scanned["report"]["totals"]
    assert t["items"] == 20  # items with content; the unreadable one has none
    assert t["unreadable_items"] == 1
    assert t["media"]["image"] == {"items": 13, "distinct": 10}
    assert t["media"]["other"] == {"items": 7, "distinct": 7}
    assert t["media"]["video"] == {"items": 0, "distinct": 0}
    grades = {g["grade"]: g["images"] for g in t["grades"]}
    assert grades == {
        "A": {"items": 2, "distinct": 1},
        "B": {"items": 3, "distinct": 2},
        "C": {"items": 2, "distinct": 1},
    }
    assert t["known_good"] == {"items": 2, "distinct": 2}
    assert t["unknown_images"] == {"items": 6, "distinct": 6}
    assert t["errors"] == 1


def test_type_is_by_content_not_name(scanned: dict) -> None:
    items = {i["path"]: i for i in scanned["report"]["items"]}
    renamed = items["Users/alex/Documents/tax-return-2019.dat"]
    assert renamed["media"] == "image" and renamed["match"]["grade"] == "A"
    assert items["Users/alex/Documents/broken.jpg"]["media"] == "other"
    member = items["Users/alex/Documents/backup.zip!old/scan-0001.jpg"]
    assert member["flags"]["in_archive"] and member["match"]["grade"] == "C"


def test_unreadable_file_is_recorded(scanned: dict) -> None:
    items = {i["path"]: i for i in scanned["report"]["items"]}
    locked = items["Users/alex/Documents/locked.jpg"]
    assert locked["sha256"] is None
    assert locked["errors"] == ["read: PermissionError: Permission denied"]


def test_hashes_and_times_in_items(scanned: dict) -> None:
    import hashlib

    items = {i["path"]: i for i in scanned["report"]["items"]}
    rel = "Users/alex/Pictures/holiday/beach.jpg"
    data = (scanned["evidence"] / rel).read_bytes()
    it = items[rel]
    assert it["md5"] == hashlib.md5(data).hexdigest()
    assert it["sha1"] == hashlib.sha1(data).hexdigest()
    assert it["sha256"] == hashlib.sha256(data).hexdigest()
    assert it["size"] == len(data)
    assert it["modified"].endswith("Z")
    assert it["match"]["basis"] == "exact" and it["match"]["hashset"] == "known"


def test_evidence_unchanged_and_html_has_no_pictures(scanned: dict) -> None:
    html = (scanned["out"] / "report.html").read_text()
    assert "<img" not in html.lower() and "data:" not in html
    assert "Users/alex/Documents/tax-return-2019.dat" in html
    csv_lines = (scanned["out"] / "items.csv").read_text().splitlines()
    assert len(csv_lines) == 1 + 21


def test_rescan_same_exhibit_is_refused(scanned: dict) -> None:
    env = {**os.environ, "VIGIL_HOME": str(scanned["home"])}
    proc = subprocess.run(
        VIGIL + ["scan", str(scanned["evidence"]), "--case", "C1", "--exhibit", "EX1", "-q"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "already been scanned" in proc.stderr


def test_report_json_follows_the_documented_schema(scanned: dict) -> None:
    import jsonschema

    schema_path = Path(__file__).resolve().parents[2] / "docs" / "report-schema.json"
    schema = json.loads(schema_path.read_text())
    jsonschema.validate(scanned["report"], schema)
    assert scanned["report"]["schema_version"].startswith("1.")
