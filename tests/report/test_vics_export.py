"""VICS 2.0 case export: structure, pass-through values, and the re-import round trip."""

from __future__ import annotations

import json
from typing import Any

from vigil.hashsets.entry import HashEntry
from vigil.hashsets.formats import vics as vics_reader

from .conftest import PHOTODNA


def _doc(case: dict, name: str) -> dict[str, Any]:
    return json.loads((case["out"] / name).read_text(encoding="utf-8"))


def _graded(report: dict[str, Any]) -> dict[str, str]:
    return {i["path"]: i["grade"]["code"] for i in report["items"] if i["grade"] is not None}


def test_uk_export_structure(case: dict) -> None:
    doc = _doc(case, "case-vics-uk.json")
    assert doc["@odata.context"].endswith("/2.0.xml/UK/$metadata#Cases")
    (c,) = doc["value"]
    assert (c["CaseNumber"], c["ContactName"], c["ContactOrganization"]) == (
        "OP-2024-001",
        "J. Example",
        "Test Lab",
    )
    assert c["TotalMediaFiles"] == 9 and len(c["Media"]) == 6
    by_name = {f["FileName"]: (m, f) for m in c["Media"] for f in m["MediaFiles"]}
    media, file = by_name["scan-0001.jpg"]
    assert media["Category"] == 1 and media["IsPrecategorized"] is False  # review grade A
    assert file["FilePath"] == "Users/alex/Documents/backup.zip!old/scan-0001.jpg"
    assert set(file) == {
        "FileName",
        "FilePath",
        "Created",
        "Written",
        "Accessed",
        "Deleted",
        "Unallocated",
        "PhysicalLocation",
        "SourceID",
    }
    assert file["SourceID"] == "EX1" and file["Deleted"] is False
    assert by_name["lake.gif"][0]["Category"] == 2
    assert by_name["meadow.tiff"][0]["PhotoDNA"] == PHOTODNA
    assert by_name["hills.jpg"][0]["AlternativeHashes"] == [
        {"HashName": "PDQ", "HashValue": case["hills_pdq"]}
    ]


def test_default_flavour_uses_project_vic_categories(case: dict) -> None:
    doc = _doc(case, "case-vics.json")
    assert doc["@odata.context"].endswith("/2.0.xml/Default/$metadata#Cases")
    assert {m["Category"] for m in doc["value"][0]["Media"]} == {1}


def test_vigil_reads_its_export_back(case: dict) -> None:
    entries = [e for e in vics_reader.read(case["out"] / "case-vics-uk.json")]
    assert all(isinstance(e, HashEntry) for e in entries) and len(entries) == 6
    by_name = {e.name: e for e in entries}
    assert by_name["hills.jpg"].pdq == case["hills_pdq"]
    assert by_name["meadow.tiff"].photodna == PHOTODNA
    assert by_name["meadow.tiff"].category == "3"


def test_round_trip_rescan_matches_same_items_with_same_grades(case: dict) -> None:
    vigil, base = case["vigil"], case["base"]
    vigil(
        "hashset", "import", str(case["out"] / "case-vics-uk.json"), "--name", "returned",
        "--scheme", "uk", "--category-map", "1=A,2=B,3=C,0=N",
    )  # fmt: skip
    db = f"sqlite:///{base / 'roundtrip.sqlite'}"
    vigil(
        "scan", str(case["evidence"]), "--case", "C2", "--exhibit", "EX1", "--hashset",
        "returned", "-q", "--db", db,
    )  # fmt: skip
    vigil("report", "C2", "--format", "json", "--out", str(base / "roundtrip"), "--db", db)
    again = json.loads((base / "roundtrip" / "report.json").read_text())
    assert _graded(again) == _graded(case["report"])
    assert len(_graded(again)) == 9
    assert {i["match"]["hashset"] for i in again["items"] if i["match"]} == {"returned"}
    rows = {g["grade"]: g["images"] for g in again["totals"]["grades"]}
    assert rows == {g["grade"]: g["images"] for g in case["report"]["totals"]["grades"]}
