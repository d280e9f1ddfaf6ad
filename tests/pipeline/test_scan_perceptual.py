"""End-to-end: altered copies of known pictures and videos match perceptually in a scan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests_support import run_vigil
from vigil.demo import add_altered_copies, build_demo_evidence, write_demo_hashsets, write_vpdq_file


@pytest.fixture(scope="module")
def items(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    base = tmp_path_factory.mktemp("perceptual")
    home, evidence = base / "home", base / "evidence"
    home.mkdir()
    roles = build_demo_evidence(evidence)
    extra = add_altered_copies(evidence, roles)
    vics, _good = write_demo_hashsets(evidence, roles, base / "sets")
    vpdq = write_vpdq_file(Path(extra["known_video"][0]), base / "sets" / "video.vpdq")
    sets = ["--scheme", "uk"]
    run_vigil(
        ["hashset", "import", str(vics), "--name", "known", *sets, "--category-map", "1=A,2=B,3=C"],
        home,
    )
    run_vigil(
        [
            "hashset",
            "import",
            str(vpdq),
            "--name",
            "videos",
            "--format",
            "vpdq",
            *sets,
            "--grade",
            "B",
        ],
        home,
    )
    run_vigil(["scan", str(evidence), "--case", "P", "--exhibit", "E", "-q"], home)
    run_vigil(["report", "P", "--format", "json", "--out", str(base / "rep")], home)
    report = json.loads((base / "rep" / "report.json").read_text())
    return {i["path"].removeprefix("Users/alex/"): i for i in report["items"]}


@pytest.mark.parametrize(
    ("path", "grade", "variant"),
    [
        ("Downloads/beach-small.jpg", "A", "original"),  # resized and recompressed
        ("Downloads/mirror.png", "C", "flipy"),  # mirrored left-right
        ("Downloads/sideways.jpg", "B", "rot270"),  # rotated by 90 degrees
        ("Downloads/lake-letterbox.png", "B", "trimmed"),  # letterboxed
    ],
)
def test_altered_pictures_match_perceptually(
    items: dict, path: str, grade: str, variant: str
) -> None:
    m = items[path]["match"]
    assert (m["basis"], m["algorithm"], m["grade"], m["variant"]) == (
        "perceptual",
        "pdq",
        grade,
        variant,
    )
    assert 0 <= m["distance"] <= 31


def test_unknown_pictures_do_not_match(items: dict) -> None:
    for path in (
        "Pictures/holiday/hills.jpg",
        "Pictures/holiday/sunset.png",
        "Pictures/misc/valley.bmp",
        "Pictures/phone/IMG_0002.jpg",
    ):
        assert items[path]["match"] is None, path
    assert items["Videos/street.mp4"]["match"] is None


def test_known_still_inside_a_video_is_found_with_its_time(items: dict) -> None:
    video = items["Videos/garden.mp4"]
    assert video["media"] == "video"
    m = video["match"]
    assert (m["basis"], m["algorithm"], m["grade"]) == ("perceptual", "pdq-frame", "C")
    assert m["timestamp"] == pytest.approx(2.0, abs=1.0)


def test_reencoded_copy_of_a_known_video_matches_its_frames(items: dict) -> None:
    m = items["Videos/clip-copy.mp4"]["match"]
    assert (m["basis"], m["algorithm"], m["hashset"], m["grade"]) == (
        "perceptual",
        "vpdq",
        "videos",
        "B",
    )
