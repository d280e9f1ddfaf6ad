"""Referral intake on real scans: a generated referral deconflicted against two cases
and a hash set, repeat identifiers across referrals, the priority order, and refusals."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest
from intel_evidence import IntelLab, landscape
from referral_xml import FileSpec, ReferralSpec, build, write
from typer.testing import CliRunner

from tests_support import VIGIL
from vigil.cli import app
from vigil.errors import UsageError
from vigil.intel.referral.parse import ReferralError

NEW = landscape(999)  # in no case and no hash set


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@pytest.fixture(scope="module")
def referrals(intel_lab: IntelLab, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A graded set holding landscape 200 (BRAVO) and three referrals imported by alice."""
    base = tmp_path_factory.mktemp("referrals")
    known = base / "known.md5"
    known.write_text(f"{md5(landscape(200))}  c.jpg\n")
    vigil = intel_lab.vigil
    vigil("hashset", "import", str(known), "--name", "known", "--scheme", "uk", "--grade", "A")
    first = ReferralSpec(
        "TIP-1001",
        [
            FileSpec("holiday.jpg", landscape(103)),  # held by ALPHA and BRAVO
            FileSpec("c.jpg", landscape(200), hashes=("MD5", "SHA1")),  # known A, in BRAVO
            FileSpec("new.jpg", NEW, uploaded_at="2026-11-20T09:16:00Z"),
        ],
        emails=["Suspect.One@Example.test"],
        screen_name="Harbour_Fan",
        esp_id="u-42",
        logins=[("192.0.2.10", "2026-11-19T21:00:00Z")],
    )
    second = ReferralSpec(
        "TIP-1002",
        [FileSpec("other.jpg", landscape(998), upload_ip="203.0.113.5")],
        emails=["suspect.one@example.test"],  # the same address, other case of letters
    )
    third = ReferralSpec("TIP-1003", [FileSpec("x.jpg", landscape(997), upload_ip="203.0.113.9")])
    views = {}
    for spec in (first, second, third):
        path = write(base / f"{spec.report_id}.xml", spec)
        views[spec.report_id] = json.loads(
            vigil("referral", "import", str(path), "--user", "alice", "--json")
        )
    return {"views": views, "base": base, "first": first}


def reasons(view: dict) -> list[tuple[str, int, str]]:
    return [(r["code"], r["weight"], r["text"]) for r in view["reasons"]]


def test_first_referral_known_a_grade_cases_and_new_material(referrals: dict) -> None:
    view = referrals["views"]["TIP-1001"]
    assert reasons(view) == [
        ("known-severe", 50, "1 file(s) known as the most severe grade: uk A in known"),
        ("held-by-cases", 30, "2 file(s) already held in case(s) ALPHA, BRAVO"),
        ("new-material", 15, "1 file(s) new: in no hash set and no case"),
    ]
    assert view["priority"] == 95
    files = {f["name"]: (f["cases"], [h["grade"] for h in f["hits"]]) for f in view["files"]}
    assert files == {
        "holiday.jpg": (["ALPHA", "BRAVO"], []),
        "c.jpg": (["BRAVO"], ["A"]),
        "new.jpg": ([], []),
    }
    assert [f["uploaded_at"] for f in view["files"]] == [
        "2026-11-20T09:15:00Z",
        "2026-11-20T09:15:00Z",
        "2026-11-20T09:16:00Z",
    ]
    idents = {(i["kind"], i["value"], i["at"]) for i in view["identifiers"]}
    assert idents == {
        ("email", "suspect.one@example.test", None),
        ("screen_name", "harbour_fan", None),
        ("esp_id", "u-42", None),
        ("ip", "192.0.2.10", "2026-11-19T21:00:00Z"),
        ("ip", "198.51.100.7", "2026-11-20T09:15:00Z"),
        ("ip", "198.51.100.7", "2026-11-20T09:16:00Z"),  # each upload with its time
    }


def test_repeat_identifier_links_the_second_referral_to_the_first(referrals: dict) -> None:
    view = referrals["views"]["TIP-1002"]
    assert reasons(view) == [
        (
            "repeat-identifier",
            25,
            "identifier(s) seen in earlier referrals: email suspect.one@example.test in TIP-1001",
        ),
        ("new-material", 15, "1 file(s) new: in no hash set and no case"),
    ]
    assert view["priority"] == 40


def test_list_orders_open_referrals_by_priority(intel_lab: IntelLab, referrals: dict) -> None:
    listed = json.loads(intel_lab.vigil("referral", "list", "--user", "alice", "--json"))
    assert [(v["report_id"], v["priority"]) for v in listed] == [
        ("TIP-1001", 95),
        ("TIP-1002", 40),
        ("TIP-1003", 15),
    ]
    text = intel_lab.vigil("referral", "list", "--user", "alice")
    assert [line.split("\t")[:2] for line in text.splitlines()] == [
        ["95", "TIP-1001"],
        ["40", "TIP-1002"],
        ["15", "TIP-1003"],
    ]


def test_case_names_follow_the_access_rules(intel_lab: IntelLab, referrals: dict) -> None:
    bob = json.loads(intel_lab.vigil("referral", "list", "--user", "bob", "--json"))[0]
    assert bob["report_id"] == "TIP-1001"
    assert ("held-by-cases", 30, "1 file(s) already held in case(s) ALPHA") in reasons(bob)
    assert "BRAVO" not in json.dumps(bob) and "CHARLIE" not in json.dumps(bob)
    assert [f["other_cases"] for f in bob["files"]] == [None, None, None]
    root = json.loads(intel_lab.vigil("referral", "list", "--user", "root", "--json"))[0]
    text = "2 file(s) already held in case(s) ALPHA and 1 case(s) you are not assigned to"
    assert ("held-by-cases", 30, text) in reasons(root)
    assert [f["other_cases"] for f in root["files"]] == [1, 1, 0]
    assert "BRAVO" not in json.dumps(root)


def test_the_same_report_twice_is_refused(intel_lab: IntelLab, referrals: dict) -> None:
    again = write(referrals["base"] / "again.xml", referrals["first"])
    intel_lab.vigil("referral", "import", str(again), "--user", "alice", code=UsageError.exit_code)


BAD = {
    "cut.xml": (
        b"<report><reportId>X</reportId><incidentSummary>",
        "not well-formed XML: no element found: line 1, column 47",
    ),
    "dtd.xml": (
        b'<?xml version="1.0"?><!DOCTYPE report [<!ENTITY a "aaaa">]><report>&a;</report>',
        "the document has a DTD (<!DOCTYPE>); a referral needs none",
    ),
    "root.xml": (b"<Media><MD5>00</MD5></Media>", "the root element is <Media>, not <report>"),
    "noid.xml": (
        b"<report><incidentSummary/></report>",
        "no reportId (at the top or in fileDetails)",
    ),
    "hash.xml": (
        b'<report><reportId>Y</reportId><fileDetails><originalFileHash hashType="MD5">'
        b"xyz</originalFileHash></fileDetails></report>",
        "fileDetails[1]/originalFileHash[md5]: 'xyz' is not a MD5 hash",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_malformed_referral_is_a_clear_error(
    intel_lab: IntelLab, tmp_path: Path, name: str
) -> None:
    data, message = BAD[name]
    path = tmp_path / name
    path.write_bytes(data)
    args = ["referral", "import", str(path), "--user", "alice"]
    result = CliRunner().invoke(app, args, env={"VIGIL_HOME": str(intel_lab.home)})
    assert isinstance(result.exception, ReferralError)
    assert str(result.exception) == f"{path}: {message}"


def test_malformed_referral_never_prints_a_traceback(intel_lab: IntelLab, tmp_path: Path) -> None:
    path = tmp_path / "cut.xml"
    path.write_bytes(BAD["cut.xml"][0])
    done = subprocess.run(
        [*VIGIL, "referral", "import", str(path), "--user", "alice", "--json"],
        env={**os.environ, "VIGIL_HOME": str(intel_lab.home)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == UsageError.exit_code
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert done.stderr.startswith(f"error: {path}: not well-formed XML: ")
    listed = json.loads(intel_lab.vigil("referral", "list", "--user", "alice", "--json"))
    assert "X" not in [v["report_id"] for v in listed]  # nothing half-stored


def test_generator_writes_the_schema_names() -> None:
    text = build(ReferralSpec("T", [FileSpec("a.jpg", b"abc")])).decode()
    md5_abc = "900150983cd24fb0d6963f7d28e17f72"
    assert f'<originalFileHash hashType="MD5">{md5_abc}</originalFileHash>' in text
