"""The lab bank on real scans: review grades re-used by a later scan of another case."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from http_client import client, csrf_of, login
from intel_evidence import (
    PASSWORD,
    alpha_files,
    bravo_files,
    landscape,
    near_original,
    scan,
    write_folder,
)
from sqlalchemy import select

from tests_support import InProcessVigil
from vigil.hashsets.library import HashSetLibrary
from vigil.web.accounts import add_user, assign
from vigil.web.app import AppSettings, create_app
from vigil.web.lab import default_lab_url, open_lab
from vigil.web.labschema import bank_grades


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def content_ids(home: Path, case: str) -> dict[str, int]:
    with sqlite3.connect(home / "cases" / f"{case}.sqlite") as conn:
        return dict(conn.execute("SELECT sha256, id FROM contents"))


@pytest.fixture(scope="module")
def banked(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """ALPHA scanned and graded in the review app, then BRAVO scanned."""
    base = tmp_path_factory.mktemp("bank")
    home = base / "home"
    home.mkdir()
    vigil = InProcessVigil(home)
    scan(vigil, write_folder(base / "alpha", alpha_files()), "ALPHA", "A1", threads=False)
    lab_url = default_lab_url(home)
    lab = open_lab(lab_url)
    add_user(lab, "alice", "examiner", PASSWORD)
    assign(lab, "alice", "ALPHA", "test")
    ids = content_ids(home, "ALPHA")
    with client(create_app(AppSettings(home, lab_url))) as c:
        assert login(c, "alice", PASSWORD).status_code == 303
        headers = {"x-csrf-token": csrf_of(c)}

        def grade(shas: list[str], code: str) -> None:
            body = {"content_ids": [ids[s] for s in shas], "grade": code}
            answer = c.post("/cases/ALPHA/grades", json=body, headers=headers)
            assert answer.status_code == 200, answer.text

        grade([sha(landscape(103)), sha(near_original())], "A")
        grade([sha(landscape(104))], "C")
        grade([sha(landscape(105))], "B")
        assert c.post("/cases/ALPHA/undo", headers=headers).status_code == 200
    with lab.connect() as conn:
        rows = conn.execute(select(bank_grades).order_by(bank_grades.c.id)).all()
    lab.dispose()
    bravo = scan(vigil, write_folder(base / "bravo", bravo_files()), "BRAVO", "B1", threads=False)
    return {"home": home, "vigil": vigil, "rows": rows, "bravo_scan": json.loads(bravo)}


def test_every_grade_is_recorded_with_reviewer_time_and_scheme(banked: dict) -> None:
    got = [(r.sha256, r.grade, r.scheme, r.reviewer, r.case_name) for r in banked["rows"]]
    assert got == [
        (min(sha(landscape(103)), sha(near_original())), "A", "uk", "alice", "ALPHA"),
        (max(sha(landscape(103)), sha(near_original())), "A", "uk", "alice", "ALPHA"),
        (sha(landscape(104)), "C", "uk", "alice", "ALPHA"),
        (sha(landscape(105)), "B", "uk", "alice", "ALPHA"),
        (sha(landscape(105)), None, "uk", "alice", "ALPHA"),  # the undo
    ]
    assert all(r.at.endswith("Z") for r in banked["rows"])


def test_the_bank_is_a_library_set(banked: dict) -> None:
    info = HashSetLibrary(banked["home"]).get("lab")
    got = (info.format, info.scheme, info.known_good, info.entries)
    assert got == ("lab-review", "uk", False, 3)
    assert info.categories["grade"] == {"A": 2, "C": 1}


def test_a_later_scan_of_another_case_is_graded_by_the_bank(banked: dict, tmp_path: Path) -> None:
    banked["vigil"]("report", "BRAVO", "--format", "json", "--out", str(tmp_path))
    model = json.loads((tmp_path / "report.json").read_text())
    graded = {
        it["path"]: (it["grade"]["code"], it["grade"]["source"], it["match"]["basis"],
                     it["match"]["algorithm"], it["match"]["distance"])
        for it in model["items"]
        if it["grade"]
    }
    assert graded == {
        "photos/a.jpg": ("A", "lab-review", "lab-review", "sha256", None),
        "photos/b.jpg": ("C", "lab-review", "lab-review", "sha256", None),
        "photos/copy/b.jpg": ("C", "lab-review", "lab-review", "sha256", None),
        "photos/near_copy.jpg": ("A", "lab-review", "lab-review", "pdq", 2),
    }
    assert model["totals"]["lab_review"] == {"items": 4, "distinct": 3}
    rows = {g["grade"]: g["images"] for g in model["totals"]["grades"]}
    assert rows == {"A": {"items": 2, "distinct": 2}, "C": {"items": 2, "distinct": 1}}
    unknown = [it["path"] for it in model["items"] if it["status"] == "unknown"]
    assert unknown == ["photos/c.jpg"]


@pytest.mark.parametrize(("fmt", "categories"), [("vics-uk", [1, 1, 3]), ("vics", [1, 1, 1])])
def test_export_writes_vics_that_reimports(
    banked: dict, tmp_path: Path, fmt: str, categories: list[int]
) -> None:
    out = tmp_path / "lab.json"
    banked["vigil"]("hashset", "export", "lab", "--format", fmt, "--out", str(out))
    doc = json.loads(out.read_text())
    flavour = "UK" if fmt == "vics-uk" else "Default"
    assert doc["@odata.context"].endswith(f"/{flavour}/$metadata#Media")
    by_md5 = {
        md5(landscape(103)).upper(): "A",
        md5(near_original()).upper(): "A",
        md5(landscape(104)).upper(): "C",
    }
    media = sorted(doc["value"], key=lambda m: (m["Category"], m["MD5"]))
    assert sorted(m["MD5"] for m in media) == sorted(by_md5)
    assert [m["Category"] for m in media] == categories
    for m in media:
        assert m["Comments"].startswith(f"graded {by_md5[m['MD5']]} (uk) by alice at ")
        assert m["AlternativeHashes"][0]["HashName"] == "PDQ"
    if fmt == "vics-uk":
        name = "upstream"
        banked["vigil"]("hashset", "import", str(out), "--name", name, "--scheme", "uk",
                        "--category-map", "1=A,2=B,3=C,0=N")
        info = HashSetLibrary(banked["home"]).get(name)
        assert (info.entries, info.categories["grade"]) == (3, {"A": 2, "C": 1})
        banked["vigil"]("hashset", "remove", name)


def test_export_refuses_an_imported_set(banked: dict) -> None:
    from vigil.errors import UsageError

    banked["vigil"]("hashset", "export", "nope", code=UsageError.exit_code)

