"""Chain of custody: signed manifest, examiner keys, audit chain, acquisition verify."""

from __future__ import annotations

import json
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
E01 = SHARED / "fixtures" / "disk" / "generated" / "gen_mbr_disk.E01"


def test_private_key_is_owner_only(case: dict) -> None:
    key = case["keys"] / "vigil-ed25519.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    case["vigil"]("keys", "new", "--out", str(case["keys"]), code=2)  # never overwritten


def test_signed_report_verifies(case: dict) -> None:
    out = case["vigil"](
        "report", "verify", str(case["out"]), "--key", str(case["keys"] / "vigil-ed25519.pub")
    )
    assert out.startswith("OK: signature valid") and "6 files match" in out
    manifest = json.loads((case["out"] / "manifest.json").read_text())
    assert sorted(manifest["files"]) == [
        "case-vics-uk.json",
        "case-vics.json",
        "items.csv",
        "report.html",
        "report.json",
        "report.pdf",
    ]


def test_manifest_records_the_audit_head(case: dict) -> None:
    manifest = json.loads((case["out"] / "manifest.json").read_text())
    with sqlite3.connect(case["store_file"]) as conn:
        rows = conn.execute("SELECT seq, action, hash FROM audit_log ORDER BY seq").fetchall()
    assert manifest["audit"] == {"entries": rows[-1][0], "head": rows[-1][2]}
    assert rows[-1][1] == "report"
    actions = [r[1] for r in rows]
    scan = [a for a in actions if a.startswith("scan-")]
    # Every write batch of the scan is chained between its start and its end.
    assert scan[0] == "scan-start" and scan[-1] == "scan-complete"
    assert set(scan[1:-1]) == {"scan-batch"} and len(scan) > 2
    assert "case-set" in actions and "exhibit-set" in actions


def _copy(case: dict, name: str) -> Path:
    folder = case["base"] / name
    shutil.copytree(case["out"], folder)
    return folder


def test_a_changed_byte_fails_verification(case: dict) -> None:
    folder = _copy(case, "tampered")
    data = bytearray((folder / "items.csv").read_bytes())
    data[100] ^= 1
    (folder / "items.csv").write_bytes(bytes(data))
    out = case["vigil"]("report", "verify", str(folder), code=1)
    assert "FAIL: items.csv: SHA-256 differs from the manifest (changed)" in out


def test_an_edited_manifest_fails_the_signature(case: dict) -> None:
    folder = _copy(case, "manifest-edit")
    text = (folder / "manifest.json").read_text().replace('"case": "C1"', '"case": "C2"')
    (folder / "manifest.json").write_text(text)
    out = case["vigil"]("report", "verify", str(folder), code=1)
    assert "signature invalid: does not match the manifest" in out


def test_another_examiners_key_fails(case: dict) -> None:
    other = case["base"] / "other-keys"
    case["vigil"]("keys", "new", "--out", str(other))
    out = case["vigil"](
        "report", "verify", str(case["out"]), "--key", str(other / "vigil-ed25519.pub"), code=1
    )
    assert "signature invalid" in out


def test_unsigned_and_unlisted_files_are_reported(case: dict) -> None:
    folder = _copy(case, "extra")
    (folder / "notes.txt").write_text("added later\n")
    (folder / "manifest.sig").unlink()
    out = case["vigil"]("report", "verify", str(folder), code=1)
    assert "manifest.sig: missing" in out and "notes.txt: not listed in the manifest" in out


def _store_copy(case: dict, name: str) -> tuple[Path, str]:
    path = case["base"] / f"{name}.sqlite"
    shutil.copyfile(case["store_file"], path)
    return path, f"sqlite:///{path}"


def test_audit_verify_ok(case: dict) -> None:
    out = case["vigil"]("audit", "verify", "C1", "--db", case["db"])
    assert out.startswith("OK:") and "chain intact" in out


@pytest.mark.parametrize(
    ("tamper", "expected", "code"),
    [
        (
            "UPDATE audit_log SET details = replace(details, 'Laptop', 'Phone') "
            "WHERE action = 'exhibit-set'",
            "content does not match its hash (edited)",
            1,
        ),
        # Entry 2 is the scan's first write batch: its rows are no longer proven either.
        ("DELETE FROM audit_log WHERE seq = 2", "expected entry 2 here", 3),
        (
            # Swap the stored order of entries 2 and 3 (rows keep their content).
            "UPDATE audit_log SET id = CASE seq WHEN 2 THEN (SELECT id FROM audit_log "
            "WHERE seq = 3) WHEN 3 THEN (SELECT id FROM audit_log WHERE seq = 2) END + 1000 "
            "WHERE seq IN (2, 3)",
            "does not link to the entry before it",
            1,
        ),
    ],
    ids=["edit", "remove", "reorder"],
)
def test_audit_verify_detects_tampering(
    case: dict, tamper: str, expected: str, code: int
) -> None:
    path, db = _store_copy(case, "audit-" + expected.split()[0])
    with sqlite3.connect(path) as conn:
        conn.execute(tamper)
    out = case["vigil"]("audit", "verify", "C1", "--db", db, code=code)
    assert expected in out


def test_truncated_audit_log_is_visible_against_the_manifest(case: dict) -> None:
    path, db = _store_copy(case, "audit-truncated")
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)")
    assert case["vigil"]("audit", "verify", "C1", "--db", db).startswith("OK:")
    out = case["vigil"]("report", "verify", str(case["out"]), "--case", "C1", "--db", db, code=1)
    assert "no longer holds entry" in out
    ok = case["vigil"]("report", "verify", str(case["out"]), "--case", "C1", "--db", case["db"])
    assert ok.startswith("OK:")


def test_verify_e01_records_acquisition_hashes(tmp_path: Path, make_vigil: type) -> None:
    assert E01.is_file(), f"missing fixture {E01}"
    home = tmp_path / "home"
    home.mkdir()
    vigil = make_vigil(home)
    db = f"sqlite:///{tmp_path / 'v.sqlite'}"
    out = vigil("verify", str(E01), "--case", "V1", "--exhibit", "HDD1", "--db", db)
    assert "computed MD5  579a7dfc19973a6ab0147062fc8e664b" in out
    assert "computed SHA1 dae2d6acf5fb064c8785e423d63b3fc293ce94d1" in out
    assert "result: verified" in out
    vigil("report", "V1", "--format", "json", "--out", str(tmp_path / "r"), "--db", db)
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    (ex,) = report["exhibits"]
    assert ex["acquisition"] == {
        "md5": "579a7dfc19973a6ab0147062fc8e664b",
        "sha1": None,
        "verify_result": "verified",
    }
    assert ex["evidence_files"] == ["gen_mbr_disk.E01"]
    with sqlite3.connect(tmp_path / "v.sqlite") as conn:
        (details,) = conn.execute(
            "SELECT details FROM audit_log WHERE action = 'verify'"
        ).fetchone()
    assert json.loads(details)["computed_sha1"] == "dae2d6acf5fb064c8785e423d63b3fc293ce94d1"
