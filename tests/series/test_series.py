"""Series formed from a real scan of generated pictures with planted EXIF."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from series_support import KNOWN, NEAR_COPY, write_series_evidence
from tests_support import InProcessVigil
from vigil.report.build import build_report
from vigil.report.render import render_html
from vigil.series.grouping import (
    SeriesSettings,
    bursts,
    distance_m,
    folder_of,
    form_series,
    places,
)
from vigil.series.pictures import Camera, Picture
from vigil.store.api import CaseStore


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    base = tmp_path_factory.mktemp("series")
    home, evidence = base / "home", base / "evidence"
    home.mkdir()
    write_series_evidence(evidence)
    # A hash-set entry makes one picture known: it is in no series.
    known = base / "known.md5"
    known.write_text(f"{hashlib.md5((evidence / KNOWN).read_bytes()).hexdigest()}  x.jpg\n")
    vigil = InProcessVigil(home)
    vigil("hashset", "import", str(known), "--name", "known", "--scheme", "uk", "--grade", "A")
    vigil("scan", str(evidence), "--case", "S-1", "--exhibit", "EX1", "-q")
    return home, json.loads(vigil("series", "S-1", "--json"))


@pytest.fixture(scope="module")
def listed(scanned: tuple[Path, dict]) -> dict:
    return scanned[1]


def _paths(series: dict) -> list[str]:
    return sorted(p["path"] for m in series["members"] for p in m["places"])


def test_series_of_planted_cameras_bursts_places_folders(listed: dict) -> None:
    got = [(s["kind"], _paths(s), s["facts"]) for s in listed["series"]]
    a, b = ("DemoCam", "Model 7"), ("OtherCam", "X2")
    assert got == [
        ("near-duplicate", ["loose/orig_small.jpg", "near/orig.jpg"],
         {"max_distance": 31, "widest_link": got[0][2]["widest_link"]}),
        ("camera", ["cam1/a1.jpg", "cam1/a2.jpg", "cam1/a3.jpg", "cam1/a4.jpg"],
         {"make": a[0], "model": a[1], "body_serial": "SN-A"}),
        ("camera", ["cam2/b1.jpg", "cam2/b2.jpg"],
         {"make": b[0], "model": b[1], "body_serial": "SN-B"}),
        ("lens", ["cam1/a1.jpg", "cam1/a2.jpg", "cam2/b1.jpg"],
         {"lens_make": "LensMaker", "lens_model": "Prime 35", "lens_serial": "L-1"}),
        ("burst", ["cam1/a1.jpg", "cam1/a2.jpg", "cam1/a3.jpg"],
         {"make": a[0], "model": a[1], "body_serial": "SN-A", "first": "2024-05-01T10:00:00",
          "last": "2024-05-01T10:00:09", "widest_gap": 5.0, "gap": 10.0}),
        ("burst", ["cam2/b1.jpg", "cam2/b2.jpg"],
         {"make": b[0], "model": b[1], "body_serial": "SN-B", "first": "2024-05-01T10:00:01",
          "last": "2024-05-01T10:00:03", "widest_gap": 2.0, "gap": 10.0}),
        ("place", ["cam1/a1.jpg", "cam1/a2.jpg", "cam2/b1.jpg"],
         {"latitude": 51.500133, "longitude": -0.125167, "spread_m": 31.9,
          "radius_m": 100.0}),
        ("folder", ["cam1/a1.jpg", "cam1/a2.jpg", "cam1/a3.jpg", "cam1/a4.jpg"],
         {"exhibit": "EX1", "folder": "cam1"}),
        ("folder", ["cam2/b1.jpg", "cam2/b2.jpg"], {"exhibit": "EX1", "folder": "cam2"}),
        ("folder", ["loose/c1.jpg", NEAR_COPY], {"exhibit": "EX1", "folder": "loose"}),
    ]
    assert 0 <= got[0][2]["widest_link"] <= 31
    camera = listed["series"][1]["members"][0]["camera"]
    assert camera == {
        "body_serial": "SN-A", "latitude": 51.5, "lens_make": "LensMaker",
        "lens_model": "Prime 35", "lens_serial": "L-1", "longitude": -0.125,
        "make": "DemoCam", "model": "Model 7", "taken": "2024-05-01T10:00:00",
    }
    # Ids are stable names of the shared facts.
    assert [s["id"].split("-")[0] for s in listed["series"]][:2] == ["near", "camera"]
    assert len({s["id"] for s in listed["series"]}) == len(listed["series"])


def test_tighter_settings_split_bursts_and_places() -> None:
    def pic(cid: int, taken: str | None, gps: tuple[float, float] | None) -> Picture:
        lat, lon = gps or (None, None)
        camera = Camera("M", "X", "S", taken=taken, latitude=lat, longitude=lon)
        return Picture(cid, f"{cid:064x}", f"{cid:032x}", None, camera, (("E", f"f/{cid}"),))

    shots = [
        pic(1, "2024-01-01T00:00:00", (0.0, 0.0)),
        pic(2, "2024-01-01T00:00:03", (0.0, 0.0009)),  # 100.1 m east of 1
        pic(3, "2024-01-01T00:00:09", (0.0, 0.0018)),
        pic(4, "2023-12-31T23:59:58", None),
    ]
    assert [s.members for s in bursts(shots, 3.0)] == [(1, 2, 4)]
    assert [s.members for s in bursts(shots, 6.0)] == [(1, 2, 3, 4)]
    assert round(distance_m((0.0, 0.0), (0.0, 0.0009)), 1) == 100.1
    assert places(shots, 100.0) == []
    assert [s.members for s in places(shots, 101.0)] == [(1, 2, 3)]
    kinds = [s.kind for s in form_series(shots, SeriesSettings(burst_gap=1.0))]
    assert kinds == ["camera", "folder"]


def test_folder_of_container_members_and_embedded_pictures() -> None:
    assert folder_of("p1/NTFS/Users/a/x.zip!inner/y.jpg") == "p1/NTFS/Users/a/x.zip!inner"
    assert folder_of("docs/report.docx!word/media/image1.png") == "docs/report.docx!word/media"
    assert folder_of("a/b.zip!c.jpg") == "a/b.zip"
    assert folder_of("scan.pdf@1234") == "scan.pdf"
    assert folder_of("top.jpg") == ""


def test_report_lists_the_series_with_camera_facts_and_no_pictures(
    scanned: tuple[Path, dict],
) -> None:
    home, listed = scanned
    store = CaseStore(f"sqlite:///{home / 'cases' / 'S-1.sqlite'}")
    try:
        report = build_report(store, "S-1")
    finally:
        store.close()
    assert report["series"] == listed["series"]
    html = render_html(report)
    section = html[html.index('<table id="series">') : html.index("</table>", html.index(
        '<table id="series">'))]
    assert section.count("<tr>") == 1 + len(listed["series"])
    for fact in ("body serial: SN-A", "lens serial: L-1", "latitude: 51.500133",
                 "first: 2024-05-01T10:00:00", "folder: cam2"):
        assert fact in section
    assert "<img" not in html and "data:" not in html
