"""The report model of the reviewed demo case: header, counts, policies, item list."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "report-schema.json"


def _items(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["path"]: i for i in report["items"]}


def test_json_follows_the_documented_schema(case: dict) -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(case["report"], schema)
    jsonschema.validate(case["plain"]["first"], schema)
    assert case["report"]["schema_version"] == "1.3"


def test_header_has_case_and_exhibit_records(case: dict) -> None:
    r = case["report"]
    assert r["case"] == {
        "name": "C1",
        "reference": "OP-2024-001",
        "examiner": "J. Example",
        "organisation": "Test Lab",
    }
    (ex,) = r["exhibits"]
    assert ex["description"] == "Laptop, silver"
    assert ex["evidence_files"] == ["evidence"]
    assert ex["acquisition"] == {"md5": None, "sha1": None, "verify_result": None}
    settings = ex["scans"][0]["settings"]
    assert settings["max_depth"] == 8 and settings["carve"] is False
    assert [h["name"] for h in r["hashsets"]] == ["known", "pdna"]
    assert r["generator"]["dependencies"]["sqlalchemy"] != "not installed"


def test_review_grades_override_and_both_are_recorded(case: dict) -> None:
    items = _items(case["report"])
    img3 = items["Users/alex/Pictures/phone/IMG_0003.jpg"]
    assert img3["match"]["grade"] == "C" and img3["match"]["hashset"] == "known"
    assert img3["review"]["grade"] == "A" and img3["review"]["user"] == "reviewer1"
    assert img3["grade"] == {
        "scheme": "uk",
        "code": "A",
        "label": img3["grade"]["label"],
        "source": "review",
    }
    assert img3["grade"]["label"].startswith("Category A")
    hills = items["Users/alex/Pictures/holiday/hills.jpg"]
    assert hills["match"] is None and hills["grade"]["source"] == "review"
    assert hills["status"] == "graded"
    beach = items["Users/alex/Pictures/holiday/beach.jpg"]
    assert beach["grade"]["source"] == "hashset" and beach["review"] is None


def test_per_grade_counts_are_exact(case: dict) -> None:
    t = case["report"]["totals"]
    rows = {g["grade"]: g for g in t["grades"]}
    assert [g["grade"] for g in t["grades"]] == ["A", "B", "C"]
    assert rows["A"]["images"] == {"items": 4, "distinct": 2}
    assert rows["B"]["images"] == {"items": 4, "distinct": 3}
    assert rows["C"]["images"] == {"items": 1, "distinct": 1}
    assert rows["A"]["per_exhibit"] == {"images": 2, "videos": 0, "other": 0}
    assert all(g["videos"] == {"items": 0, "distinct": 0} for g in t["grades"])
    assert t["unknown_images"] == {"items": 4, "distinct": 4}
    assert t["matched"] == {"items": 8, "distinct": 5}
    # The exhibit's own table agrees with the case total for a one-exhibit case.
    ex_rows = {g["grade"]: g["images"] for g in case["report"]["exhibits"][0]["totals"]["grades"]}
    assert ex_rows == {k: v["images"] for k, v in rows.items()}


def test_counts_before_review(case: dict) -> None:
    rows = {g["grade"]: g["images"] for g in case["plain"]["first"]["totals"]["grades"]}
    assert rows == {
        "A": {"items": 2, "distinct": 1},
        "B": {"items": 3, "distinct": 2},
        "C": {"items": 3, "distinct": 2},
    }


def test_one_representative_per_content(case: dict) -> None:
    items = _items(case["report"])
    reps = [i for i in case["report"]["items"] if i["representative"]]
    assert len(reps) == case["report"]["totals"]["distinct_contents"] == 17
    # A plain file is preferred over the same picture inside an archive.
    assert items["Users/alex/Pictures/phone/IMG_0003.jpg"]["representative"]
    assert not items["Users/alex/Documents/backup.zip!old/scan-0001.jpg"]["representative"]
    # Two live plain copies: the first by path.
    assert items["Users/alex/Documents/tax-return-2019.dat"]["representative"]
    assert not items["Users/alex/Pictures/holiday/beach.jpg"]["representative"]


def test_unknown_pictures_are_listed_for_review(case: dict) -> None:
    unknown = sorted(i["path"] for i in case["report"]["items"] if i["status"] == "unknown")
    assert unknown == [
        "Users/alex/Pictures/holiday/sunset.png",
        "Users/alex/Pictures/misc/forest.webp",
        "Users/alex/Pictures/misc/valley.bmp",
        "Users/alex/Pictures/phone/IMG_0002.jpg",
    ]
