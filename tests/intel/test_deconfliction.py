"""Deconfliction on real scans: ``vigil intel CASE --json`` and the lab content index."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from intel_evidence import IntelLab, landscape, near_copy, near_original, scan
from sqlalchemy import select

from vigil.errors import UsageError
from vigil.web.lab import default_lab_url, open_lab
from vigil.web.labschema import intel_contents, intel_holders

NEAR_DISTANCE = 2  # PDQ distance between the near-duplicate's original and its copy


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def intel(lab: IntelLab, case: str, user: str) -> dict:
    return json.loads(lab.vigil("intel", case, "--user", user, "--json"))


def links(view: dict) -> list[tuple[str, str, str, int, str]]:
    return [
        (row["sha256"], k["case"], k["basis"], k["distance"], k["other"]["sha256"])
        for row in view["shared"]
        for k in row["links"]
    ]


def test_alpha_to_bravo_exact_and_near_duplicate(intel_lab: IntelLab) -> None:
    view = intel(intel_lab, "ALPHA", "alice")
    expected = [
        (sha(landscape(103)), "BRAVO", "exact", 0, sha(landscape(103))),
        (sha(landscape(104)), "BRAVO", "exact", 0, sha(landscape(104))),
        (sha(near_original()), "BRAVO", "perceptual", NEAR_DISTANCE, sha(near_copy())),
    ]
    assert sorted(links(view)) == sorted(expected)
    assert view["cases"] == [{"case": "BRAVO", "exact": 2, "perceptual": 1}]
    # alice is not an admin: CHARLIE (which shares landscape 105) is not even counted.
    assert view["other_cases"] is None
    assert {tuple(k["exhibits"]) for row in view["shared"] for k in row["links"]} == {("B1",)}


def test_bravo_to_alpha_the_other_way(intel_lab: IntelLab) -> None:
    view = intel(intel_lab, "BRAVO", "alice")
    expected = [
        (sha(landscape(103)), "ALPHA", "exact", 0, sha(landscape(103))),
        (sha(landscape(104)), "ALPHA", "exact", 0, sha(landscape(104))),
        (sha(near_copy()), "ALPHA", "perceptual", NEAR_DISTANCE, sha(near_original())),
    ]
    assert sorted(links(view)) == sorted(expected)


def test_text_output_one_line_per_link(intel_lab: IntelLab) -> None:
    lines = intel_lab.vigil("intel", "ALPHA", "--user", "alice").splitlines()
    assert sorted(lines) == sorted(
        [
            f"{sha(landscape(103))}\tBRAVO\tB1\texact",
            f"{sha(landscape(104))}\tBRAVO\tB1\texact",
            f"{sha(near_original())}\tBRAVO\tB1\tperceptual distance {NEAR_DISTANCE}",
        ]
    )


def test_user_of_one_case_learns_nothing_of_the_others(intel_lab: IntelLab) -> None:
    text = intel_lab.vigil("intel", "ALPHA", "--user", "bob", "--json")
    view = json.loads(text)
    assert view["shared"] == [] and view["cases"] == [] and view["other_cases"] is None
    for other in ("BRAVO", "CHARLIE", "B1", "C1", sha(near_copy())):
        assert other not in text


def test_admin_gets_counts_only_for_unassigned_cases(intel_lab: IntelLab) -> None:
    view = intel(intel_lab, "ALPHA", "root")
    # root is assigned to ALPHA only: BRAVO (103, 104, near copy) and CHARLIE (105).
    assert view["shared"] == []
    assert view["other_cases"] == {"cases": 2, "contents": 4}
    assert "BRAVO" not in json.dumps(view)


def test_user_not_assigned_to_the_case_is_refused(intel_lab: IntelLab) -> None:
    out = intel_lab.vigil("intel", "BRAVO", "--user", "bob", "--json", code=UsageError.exit_code)
    assert out == ""


def test_index_holds_every_content_with_its_copies(intel_lab: IntelLab) -> None:
    lab = open_lab(default_lab_url(intel_lab.home))
    with lab.connect() as conn:
        rows = conn.execute(
            select(intel_contents.c.sha256, intel_holders.c.case_name, intel_holders.c["items"])
            .join(intel_holders, intel_holders.c.content_id == intel_contents.c.id)
        ).all()
    lab.dispose()
    held = {(r[0], r[1]): r[2] for r in rows}
    assert len(held) == 7 + 4 + 2
    assert held[(sha(landscape(104)), "BRAVO")] == 2
    assert held[(sha(landscape(105)), "CHARLIE")] == 1
    # Contents are stored once however many cases hold them: 7 + 2 + 1 distinct.
    assert len({s for s, _ in held}) == 10


def report(lab: IntelLab, user: str, tmp_path: Path) -> tuple[dict, str]:
    folder = tmp_path / user
    lab.vigil("report", "ALPHA", "--user", user, "--format", "json,html", "--out", str(folder))
    model = json.loads((folder / "report.json").read_text())
    return model, (folder / "report.html").read_text()


def test_report_also_seen_in_names_only_visible_cases(intel_lab: IntelLab, tmp_path: Path) -> None:
    model, html = report(intel_lab, "alice", tmp_path)
    seen = model["also_seen_in"]
    assert seen["cases"] == [{"case": "BRAVO", "exact": 2, "perceptual": 1}]
    assert (seen["user"], seen["other_cases"], seen["unavailable"]) == ("alice", None, None)
    assert "<h2>Also seen in</h2>" in html
    assert "<tr><td>BRAVO</td><td class=\"n\">2</td><td class=\"n\">1</td></tr>" in html
    assert "CHARLIE" not in html

    model, html = report(intel_lab, "bob", tmp_path)
    assert model["also_seen_in"]["cases"] == [] and model["also_seen_in"]["other_cases"] is None
    assert "BRAVO" not in html and "CHARLIE" not in html

    model, html = report(intel_lab, "root", tmp_path)
    assert model["also_seen_in"]["other_cases"] == {"cases": 2, "contents": 4}
    assert "2 other case(s) not assigned to root share 4 content(s)" in html

    model, _ = report(intel_lab, "nobody", tmp_path)
    assert model["also_seen_in"]["unavailable"] == "no user 'nobody'"


def test_second_exhibit_adds_holders_not_contents(intel_lab: IntelLab) -> None:
    # Runs last: it adds exhibit C2 (the same pictures again) to CHARLIE.
    before = intel(intel_lab, "ALPHA", "alice")
    out = json.loads(scan(intel_lab.vigil, intel_lab.evidence["CHARLIE"], "CHARLIE", "C2"))
    expected = {"case": "CHARLIE", "exhibit": "C2", "contents": 2, "new_contents": 0,
                "checked": 0, "links": 0}
    took = {k: out["lab_index"].pop(k) for k in ("link_seconds", "seconds")}
    assert out["lab_index"] == expected
    assert 0 <= took["link_seconds"] <= took["seconds"]
    assert intel(intel_lab, "ALPHA", "alice") == before
    assert intel(intel_lab, "ALPHA", "root")["other_cases"] == {"cases": 2, "contents": 4}


def test_unwritable_lab_store_leaves_the_scan_stored(intel_lab: IntelLab, tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the lab folder should be")
    out = intel_lab.vigil(
        "scan", str(intel_lab.evidence["CHARLIE"]), "--case", "CHARLIE", "--exhibit", "C3",
        "-q", "--json", "--executor", "threads", "--workers", "1",
        "--lab-db", f"sqlite:///{blocked}/lab.sqlite",
    )
    summary = json.loads(out[out.index("{"):])
    assert (summary["lab_index"], summary["items"], summary["errors"]) == (None, 2, 0)
    assert "the lab content index was not updated" in out
