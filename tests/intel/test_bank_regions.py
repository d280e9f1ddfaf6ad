"""A review grade puts the picture's region signature into the lab bank: a later scan of
another case finds a crop and a turned copy of it that no hash or PDQ matches."""

from __future__ import annotations

import json
import sqlite3
import threading

import pytest
from http_client import client, csrf_of, login
from intel_evidence import PASSWORD, scan, write_folder

from tests_support import InProcessVigil, load_benchmark
from vigil.hashsets.library import HashSetLibrary
from vigil.matching.lab_regions import pending_folder, region_folder
from vigil.web.accounts import add_user, assign
from vigil.web.app import AppSettings, create_app
from vigil.web.lab import default_lab_url, open_lab

corpus, edits = load_benchmark("corpus"), load_benchmark("edits")


def photo(seed: int):
    return corpus.photo(6100 + seed, 800, 600)


def crop10_low_left(image) -> bytes:
    """A 10% crop cut 3:1 at the top (three quarters of the cut) and 1:3 at the left:
    not a placement of the default uncrop variants, so PDQ does not find it."""
    w, h = image.size
    left, top = round(w * 0.1 * 0.25), round(h * 0.1 * 0.75)
    box = (left, top, left + round(w * 0.9), top + round(h * 0.9))
    return corpus.jpeg_bytes(image.crop(box), 90)


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """ALPHA: two photos, one graded A in the review app; BRAVO: a 10% crop and a
    5-degree turn of the graded one, and a third photo."""
    base = tmp_path_factory.mktemp("regions")
    home = base / "home"
    home.mkdir()
    vigil = InProcessVigil(home)
    alpha = {"DCIM/known.jpg": corpus.jpeg_bytes(photo(0), 92),
             "DCIM/other.jpg": corpus.jpeg_bytes(photo(1), 92)}  # fmt: skip
    scan(vigil, write_folder(base / "alpha", alpha), "ALPHA", "A1")
    lab_url = default_lab_url(home)
    lab = open_lab(lab_url)
    add_user(lab, "alice", "examiner", PASSWORD)
    assign(lab, "alice", "ALPHA", "test")
    with sqlite3.connect(home / "cases" / "ALPHA.sqlite") as conn:
        ids = dict(conn.execute("SELECT i.path, i.content_id FROM items i"))
    with client(create_app(AppSettings(home, lab_url))) as c:
        assert login(c, "alice", PASSWORD).status_code == 303
        body = {"content_ids": [ids["DCIM/known.jpg"]], "grade": "A"}
        answer = c.post("/cases/ALPHA/grades", json=body, headers={"x-csrf-token": csrf_of(c)})
        assert answer.status_code == 200, answer.text
    lab.dispose()
    pending = sorted(p.name for p in pending_folder(home, "lab").iterdir())
    bravo = {
        "copies/crop10.jpg": crop10_low_left(photo(0)),
        "copies/rotate5.jpg": edits.EDITS["rotate5"](photo(0)),
        "copies/different.jpg": corpus.jpeg_bytes(photo(2), 90),
    }
    # Without the PDQ tilt variants (which find most 5-degree turns), so that the turned
    # copy too can only be found by its keypoints.
    vigil("scan", str(write_folder(base / "bravo", bravo)), "--case", "BRAVO", "--exhibit",
          "B1", "-q", "--no-pdq-tilts", "--executor", "threads", "--workers", "1")  # fmt: skip
    # The same crop with region matching turned off: nothing matches it.
    off = write_folder(base / "charlie", {"crop10.jpg": bravo["copies/crop10.jpg"]})
    vigil("scan", str(off), "--case", "CHARLIE", "--exhibit", "C1", "-q", "--no-lab-regions",
          "--executor", "threads", "--workers", "1")  # fmt: skip
    with sqlite3.connect(home / "cases" / "CHARLIE.sqlite") as conn:
        off_matches = conn.execute("SELECT count(*) FROM matches").fetchone()[0]
    out = base / "report"
    vigil("report", "BRAVO", "--format", "json", "--out", str(out))
    with sqlite3.connect(home / "cases" / "BRAVO.sqlite") as conn:
        stored = conn.execute(
            "SELECT i.path, m.basis, m.algorithm, m.distance, m.variant FROM matches m "
            "JOIN items i ON i.content_id = m.content_id ORDER BY i.path"
        ).fetchall()
    return {"home": home, "pending": pending, "stored": stored, "off_matches": off_matches,
            "report": json.loads((out / "report.json").read_text())}  # fmt: skip


def test_the_grade_keeps_the_pictures_region_signature(scanned: dict) -> None:
    library = HashSetLibrary(scanned["home"])
    [(entry_id, _set, _pdq, grade)] = list(library.entries_with_pdq(["lab"]))
    assert (scanned["pending"], grade) == ([f"{entry_id}.npz"], "A")
    # The scan folded it into the set's region index.
    assert not pending_folder(scanned["home"], "lab").exists()
    assert (region_folder(scanned["home"], "lab") / "ids.npy").is_file()


def test_crop_and_turn_are_found_by_region_and_graded(scanned: dict) -> None:
    model = scanned["report"]
    found = {
        it["path"]: (it["grade"]["code"], it["grade"]["source"], it["match"]["hashset"],
                     it["match"]["basis"], it["match"]["algorithm"])
        for it in model["items"]
        if it["match"]
    }
    assert found == {
        "copies/crop10.jpg": ("A", "lab-review", "lab", "lab-review", "orb-regions"),
        "copies/rotate5.jpg": ("A", "lab-review", "lab", "lab-review", "orb-regions"),
    }
    unknown = [it["path"] for it in model["items"] if it["status"] == "unknown"]
    assert unknown == ["copies/different.jpg"]
    assert model["totals"]["lab_review"] == {"items": 2, "distinct": 2}
    # Stored as a perceptual match: the centre window's PDQ distance, the keypoints.
    rows = {path: (basis, algorithm) for path, basis, algorithm, _d, _v in scanned["stored"]}
    assert rows == {"copies/crop10.jpg": ("perceptual", "orb-regions"),
                    "copies/rotate5.jpg": ("perceptual", "orb-regions")}  # fmt: skip
    for _path, _basis, _algorithm, distance, variant in scanned["stored"]:
        assert 0 <= distance <= 40
        assert variant.startswith("keypoints ")
    assert scanned["off_matches"] == 0  # ``--no-lab-regions``
    turned = next(v for p, *_r, v in scanned["stored"] if p == "copies/rotate5.jpg")
    assert float(turned.rsplit(" ", 1)[1]) == pytest.approx(5.0, abs=0.5)


def test_a_grade_is_answered_before_its_region_signature_is_computed(tmp_path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    vigil = InProcessVigil(home)
    folder = write_folder(tmp_path / "delta", {"DCIM/known.jpg": corpus.jpeg_bytes(photo(3), 92)})
    scan(vigil, folder, "DELTA", "D1")
    lab_url = default_lab_url(home)
    lab = open_lab(lab_url)
    add_user(lab, "alice", "examiner", PASSWORD)
    assign(lab, "alice", "DELTA", "test")
    lab.dispose()
    with sqlite3.connect(home / "cases" / "DELTA.sqlite") as conn:
        [(content_id,)] = conn.execute("SELECT content_id FROM items").fetchall()
    app = create_app(AppSettings(home, lab_url))
    gate = threading.Event()
    with client(app) as c:
        app.app.state.bank.signer.submit(gate.wait)  # the background thread is busy
        assert login(c, "alice", PASSWORD).status_code == 303
        body = {"content_ids": [content_id], "grade": "A"}
        answer = c.post("/cases/DELTA/grades", json=body, headers={"x-csrf-token": csrf_of(c)})
        assert answer.status_code == 200, answer.text
        # Answered with the bank entry written and the signature still queued.
        [(entry_id, _set, _pdq, grade)] = list(HashSetLibrary(home).entries_with_pdq(["lab"]))
        assert grade == "A"
        assert not pending_folder(home, "lab").exists()
        gate.set()
    # Stopping the app waited for the queued signature.
    assert sorted(p.name for p in pending_folder(home, "lab").iterdir()) == [f"{entry_id}.npz"]
