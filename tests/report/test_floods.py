"""Match floods end to end: a low-detail hash-set entry near many pictures is suspect.

Benign generated evidence: 40 procedurally drawn landscapes, a resized copy of one of
them, a soft low-detail picture of two blurred shapes (quality about 62) and 12
different copies of it, each with one small coloured square somewhere. The hash set
holds the low-detail picture (grade B) and one landscape (grade C), MD5 and PDQ each.
Every command runs through the real ``vigil`` app (in process).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from PIL import Image, ImageDraw, ImageFilter

from tests_support import InProcessVigil
from vigil.demo import draw_landscape
from vigil.hashing.crypto import digest_stream
from vigil.hashing.pdq import hamming, pdq_for_file

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "report-schema.json"
LANDSCAPES = 40
# Positions chosen so every copy lies well inside distance 31 of the plain picture
# (checked by the test itself, not assumed).
FLOOD_COPIES = (1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13)
PICTURES = LANDSCAPES + 1 + 1 + len(FLOOD_COPIES)  # + resized copy + plain picture


def low_detail_picture(mark: int | None = None) -> Image.Image:
    """Two large blurred shapes on a flat background; ``mark`` adds one small square."""
    img = Image.new("RGB", (320, 240), (70, 110, 160))
    draw = ImageDraw.Draw(img)
    draw.ellipse([40, 30, 200, 190], fill=(230, 200, 90))
    draw.rectangle([180, 120, 300, 220], fill=(40, 90, 50))
    img = img.filter(ImageFilter.GaussianBlur(6))
    if mark is not None:
        x, y = 12 + (mark * 53) % 290, 10 + (mark * 37) % 215
        colour = ((mark * 70) % 256, (mark * 130) % 256, (mark * 200) % 256)
        ImageDraw.Draw(img).rectangle([x, y, x + 5, y + 5], fill=colour)
    return img


def _vics_media(media_id: int, category: int, path: Path) -> dict[str, Any]:
    with path.open("rb") as f:
        d = digest_stream(f)
    return {
        "MediaID": media_id,
        "Category": category,
        "MD5": d.md5.upper(),
        "MediaSize": d.size,
        "AlternativeHashes": [
            {"HashName": "PDQ", "HashValue": pdq_for_file(path, "reference").hash}
        ],
    }


def build_flood_case(base: Path) -> tuple[Path, Path]:
    """Write the evidence folder and the VICS hash set; return both paths."""
    evidence = base / "evidence"
    pictures, flood = evidence / "Pictures", evidence / "Saved"
    pictures.mkdir(parents=True)
    flood.mkdir()
    for seed in range(100, 100 + LANDSCAPES):
        draw_landscape(seed, (200, 150)).save(pictures / f"land-{seed}.jpg", "JPEG", quality=85)
    with Image.open(pictures / "land-100.jpg") as img:
        img.resize((160, 120), Image.Resampling.LANCZOS).save(
            pictures / "land-100-small.jpg", "JPEG", quality=70
        )
    low_detail_picture().save(flood / "plain.png", "PNG")
    for mark in FLOOD_COPIES:
        low_detail_picture(mark).save(flood / f"copy-{mark:02d}.png", "PNG")
    (evidence / "notes.txt").write_text("Shopping list: bread, milk, eggs.\n", encoding="utf-8")
    sets = base / "sets"
    sets.mkdir()
    vics = sets / "known.json"
    doc = {
        "@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/"
        "2.0.xml/UK/$metadata#Media",
        "value": [
            _vics_media(1, 2, flood / "plain.png"),
            _vics_media(2, 3, pictures / "land-100.jpg"),
        ],
    }
    vics.write_text(json.dumps(doc), encoding="utf-8")
    return evidence, vics


def _report(vigil: InProcessVigil, case: str, out: Path, *extra: str) -> dict[str, Any]:
    vigil("report", case, "--out", str(out), *extra)
    return json.loads((out / "report.json").read_text())


@pytest.fixture(scope="module")
def flood(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("flood")
    home = base / "home"
    home.mkdir()
    vigil = InProcessVigil(home)
    evidence, vics = build_flood_case(base)
    vigil("hashset", "import", str(vics), "--name", "known", "--scheme", "uk",
          "--category-map", "1=A,2=B,3=C")  # fmt: skip
    vigil("scan", str(evidence), "--case", "F", "--exhibit", "E1", "-q")
    report = _report(vigil, "F", base / "rep", "--format", "json,html,csv,pdf")
    items = {i["path"]: i for i in report["items"]}
    flood_id = items["Saved/plain.png"]["match"]["entry_id"]
    return {
        "base": base,
        "home": home,
        "vigil": vigil,
        "evidence": evidence,
        "report": report,
        "items": items,
        "flood_id": flood_id,
        "land_id": items["Pictures/land-100.jpg"]["match"]["entry_id"],
    }


def test_every_copy_is_a_different_content_within_pdq_distance(flood: dict) -> None:
    saved = flood["evidence"] / "Saved"
    entry = pdq_for_file(saved / "plain.png", "reference")
    assert entry.quality is not None and 50 <= entry.quality < 80  # low detail, still used
    copies = [saved / f"copy-{m:02d}.png" for m in FLOOD_COPIES]
    assert len({p.read_bytes() for p in copies}) == len(FLOOD_COPIES)
    for path in copies:
        assert hamming(entry.hash, pdq_for_file(path, "fast").hash) <= 20, path


def test_flooding_entry_is_listed_as_suspect(flood: dict) -> None:
    r = flood["report"]
    assert r["flood_policy"]["max_share"] == 0.01
    assert r["flood_policy"]["min_contents"] == 3
    assert r["flood_policy"]["pictures"] == PICTURES
    assert r["suspect_entries"] == [
        {
            "hashset": "known",
            "entry_id": flood["flood_id"],
            "grade": "B",
            "contents": len(FLOOD_COPIES),
            "share": round(len(FLOOD_COPIES) / PICTURES, 6),
        }
    ]
    jsonschema.validate(r, json.loads(SCHEMA.read_text()))


def test_suspect_matches_stay_on_the_items_but_grade_nothing(flood: dict) -> None:
    for mark in FLOOD_COPIES:
        it = flood["items"][f"Saved/copy-{mark:02d}.png"]
        m = it["match"]
        assert (m["hashset"], m["entry_id"], m["basis"], m["grade"]) == (
            "known",
            flood["flood_id"],
            "perceptual",
            "B",
        )
        assert m["suspect"] is True and m["distance"] <= 31
        assert (it["grade"], it["status"], it["known_good"]) == (None, "unknown", False)


def test_exact_match_of_the_flooding_entry_is_never_suspect(flood: dict) -> None:
    plain = flood["items"]["Saved/plain.png"]
    assert (plain["match"]["basis"], plain["match"]["suspect"]) == ("exact", False)
    assert (plain["grade"]["code"], plain["status"]) == ("B", "graded")
    small = flood["items"]["Pictures/land-100-small.jpg"]["match"]
    assert (small["entry_id"], small["basis"], small["suspect"]) == (
        flood["land_id"],
        "perceptual",
        False,
    )


def test_grade_totals_count_only_trusted_matches(flood: dict) -> None:
    t = flood["report"]["totals"]
    grades = {g["grade"]: (g["images"]["distinct"], g["images"]["items"]) for g in t["grades"]}
    assert grades == {"B": (1, 1), "C": (2, 2)}
    assert t["matched"] == {"items": 3, "distinct": 3}
    assert t["suspect_matches"] == {"items": len(FLOOD_COPIES), "distinct": len(FLOOD_COPIES)}
    assert t["unknown_images"]["distinct"] == LANDSCAPES - 1 + len(FLOOD_COPIES)
    (exhibit,) = flood["report"]["exhibits"]
    assert exhibit["totals"]["suspect_matches"] == t["suspect_matches"]


def test_html_csv_and_pdf_show_the_suspect_entry(flood: dict) -> None:
    out = flood["base"] / "rep"
    share = f"{100 * len(FLOOD_COPIES) / PICTURES:.2f}%"
    html = (out / "report.html").read_text()
    assert "Suspect hash-set entries (match floods)" in html
    row = (
        f'<tr><td>known</td><td class="n">{flood["flood_id"]}</td><td>B</td>'
        f'<td class="n">{len(FLOOD_COPIES)}</td><td class="n">{share}</td></tr>'
    )
    assert row in html
    assert html.count("[suspect match: known entry") == len(FLOOD_COPIES)
    rows = list(csv.DictReader(io.StringIO((out / "items.csv").read_text())))
    suspect = sorted(r["path"] for r in rows if r["suspect"] == "True")
    assert suspect == [f"Saved/copy-{m:02d}.png" for m in FLOOD_COPIES]
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "pdftotext (poppler-utils) is required: apt-get install poppler-utils"
    text = subprocess.run(
        [pdftotext, "-layout", str(out / "report.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Suspect hash-set entries (match floods)" in text
    words = [line.split() for line in text.splitlines()]
    assert ["known", str(flood["flood_id"]), "B", str(len(FLOOD_COPIES)), share] in words


@pytest.mark.parametrize(
    "option",
    [("--flood-share", "0.25"), ("--flood-min-contents", str(len(FLOOD_COPIES) + 1))],
)
def test_thresholds_are_settings_recorded_in_the_report(
    flood: dict, option: tuple[str, str]
) -> None:
    out = flood["base"] / f"rep{option[0]}"
    r = _report(flood["vigil"], "F", out, "--format", "json", *option)
    policy = r["flood_policy"]
    assert (policy["max_share"], policy["min_contents"]) == {
        "--flood-share": (0.25, 3),
        "--flood-min-contents": (0.01, len(FLOOD_COPIES) + 1),
    }[option[0]]
    assert r["suspect_entries"] == []
    grades = {g["grade"]: g["images"]["distinct"] for g in r["totals"]["grades"]}
    assert grades == {"B": 1 + len(FLOOD_COPIES), "C": 2}
    assert r["totals"]["suspect_matches"] == {"items": 0, "distinct": 0}


def test_bad_threshold_is_a_usage_error(flood: dict) -> None:
    flood["vigil"]("report", "F", "--format", "json", "--out", str(flood["base"] / "bad"),
                   "--flood-share", "1.5", code=2)  # fmt: skip


def test_suppressed_entry_no_longer_matches_in_a_rescan(flood: dict) -> None:
    vigil, flood_id = flood["vigil"], flood["flood_id"]
    vigil("hashset", "suppress", "known", str(flood_id), "--reason", "low-detail, floods")
    vigil("scan", str(flood["evidence"]), "--case", "G", "--exhibit", "E1", "-q")
    r = _report(vigil, "G", flood["base"] / "rep-g", "--format", "json")
    assert r["suspect_entries"] == []
    items = {i["path"]: i for i in r["items"]}
    for mark in FLOOD_COPIES:
        it = items[f"Saved/copy-{mark:02d}.png"]
        assert (it["match"], it["status"]) == (None, "unknown")
    perceptual = [
        i["path"]
        for i in r["items"]
        if i["match"] and i["match"]["entry_id"] == flood_id and i["match"]["basis"] != "exact"
    ]
    assert perceptual == []
    # Suppression is perceptual only: the identical bytes are still the graded file.
    assert items["Saved/plain.png"]["match"]["basis"] == "exact"
    grades = {g["grade"]: g["images"]["distinct"] for g in r["totals"]["grades"]}
    assert grades == {"B": 1, "C": 2}
    assert r["totals"]["suspect_matches"] == {"items": 0, "distinct": 0}
    # Suppression applies at match time: the set keeps its one index file, not rebuilt.
    assert len(list((flood["home"] / "index").glob("pdq-*.idx"))) == 1
