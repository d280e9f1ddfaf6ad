"""Match floods end to end: an entry near many *different* pictures is suspect, an entry
matched by many copies of one picture is not.

Benign generated evidence: 40 procedurally drawn landscapes, a resized copy of one of
them, a generated photo's 20 edited copies (recompressed, resized, blurred, mirrored,
turned, letterboxed ...; one of them stored twice), a soft low-detail picture of two
blurred shapes (quality about 62) and 20 pictures each within PDQ distance 31 of it
but more than 31 from each other (the low-detail picture with a different faint
pattern of cosine gratings each). The hash set holds the low-detail picture (grade B),
one landscape and the photo (grade C), MD5 and PDQ each. Every command runs through the
real ``vigil`` app (in process).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

from tests_support import InProcessVigil, load_benchmark
from vigil.demo import draw_landscape
from vigil.hashing.crypto import digest_stream
from vigil.hashing.pdq import hamming, pdq_for_file
from vigil.report.floods import group_pictures, rotate_hash

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "docs" / "report-schema.json"
corpus, edits = load_benchmark("corpus"), load_benchmark("edits")

LANDSCAPES = 40
FLOOD_PICTURES = 20
COPIES = 20
PICTURES = LANDSCAPES + 1 + COPIES + 1 + FLOOD_PICTURES  # + resized copy + plain picture


def low_detail_picture() -> Image.Image:
    """Two large blurred shapes on a flat background."""
    img = Image.new("RGB", (320, 240), (70, 110, 160))
    draw = ImageDraw.Draw(img)
    draw.ellipse([40, 30, 200, 190], fill=(230, 200, 90))
    draw.rectangle([180, 120, 300, 220], fill=(40, 90, 50))
    return img.filter(ImageFilter.GaussianBlur(6))


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def grating_pictures(base: Image.Image, count: int) -> list[bytes]:
    """Copies of ``base``, each near it by PDQ and far from every other one.

    Candidate ``k`` adds faint cosine gratings for 20 of PDQ's 256 frequencies (picked
    by seed ``k``), each with the sign that moves that coefficient across the median:
    every candidate flips its own set of bits. Candidates within 28 of ``base`` and
    more than 31 from every one already kept are kept, in seed order.
    """
    entry = pdq_for_file(_png(base), "fast").hash
    bits = np.unpackbits(np.frombuffer(bytes.fromhex(entry), np.uint8))[::-1].reshape(16, 16)
    height, width = base.height, base.width
    y = (np.arange(height) + 0.5)[:, None] / height
    x = (np.arange(width) + 0.5)[None, :] / width
    kept: list[tuple[str, bytes]] = []
    for seed in itertools.count(100):
        pattern = np.zeros((height, width))
        for c in np.random.default_rng(seed).choice(256, 20, replace=False):
            u, v = divmod(int(c), 16)
            sign = -1.0 if bits[u, v] else 1.0
            pattern += sign * np.cos(np.pi * (u + 1) * y) * np.cos(np.pi * (v + 1) * x)
        pixels = np.asarray(base, np.float32) + 2.0 * pattern[..., None]
        data = _png(Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)))
        own = pdq_for_file(data, "fast").hash
        if hamming(own, entry) <= 28 and all(hamming(own, h) > 31 for h, _ in kept):
            kept.append((own, data))
        if len(kept) == count:
            return [data for _, data in kept]
    raise AssertionError("unreachable")


def _jpeg(quality: int = 90) -> Callable[[Image.Image], bytes]:
    def save(image: Image.Image) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality)
        return buffer.getvalue()

    return save


def copy_edits() -> dict[str, Callable[[Image.Image], bytes]]:
    """20 edits a copy of a known picture typically has, each still found by PDQ."""
    jpeg = _jpeg()
    chosen = ("recompress", "resize", "blur", "brightness", "contrast", "grey", "mirror",
              "rot90", "rot180", "letterbox")  # fmt: skip
    found = {name: edits.EDITS[name] for name in chosen}
    found.update(
        {
            "recompress-60": _jpeg(60),
            "recompress-25": _jpeg(25),
            "resize-75": lambda im: jpeg(im.resize((im.width * 3 // 4, im.height * 3 // 4))),
            "resize-33": lambda im: jpeg(im.resize((im.width // 3, im.height // 3))),
            "blur-1": lambda im: jpeg(im.filter(ImageFilter.GaussianBlur(1))),
            "darker": lambda im: jpeg(ImageEnhance.Brightness(im).enhance(0.8)),
            "flat": lambda im: jpeg(ImageEnhance.Contrast(im).enhance(0.75)),
            "rot270": lambda im: jpeg(im.transpose(Image.Transpose.ROTATE_270)),
            "upside-down": lambda im: jpeg(im.transpose(Image.Transpose.FLIP_TOP_BOTTOM)),
            "png": _png,
        }
    )
    assert len(found) == COPIES
    return found


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
    pictures, flood, copies = evidence / "Pictures", evidence / "Saved", evidence / "Copies"
    for folder in (pictures, flood, copies, evidence / "Again"):
        folder.mkdir(parents=True)
    for seed in range(100, 100 + LANDSCAPES):
        draw_landscape(seed, (200, 150)).save(pictures / f"land-{seed}.jpg", "JPEG", quality=85)
    with Image.open(pictures / "land-100.jpg") as img:
        img.resize((160, 120), Image.Resampling.LANCZOS).save(
            pictures / "land-100-small.jpg", "JPEG", quality=70
        )
    photo = corpus.photo(77, 640, 480)
    (base / "photo.jpg").write_bytes(corpus.jpeg_bytes(photo))
    for name, edit in copy_edits().items():
        (copies / f"{name}.jpg").write_bytes(edit(photo))
    shutil.copyfile(copies / "resize.jpg", evidence / "Again" / "resize.jpg")
    low_detail_picture().save(flood / "plain.png", "PNG")
    for k, data in enumerate(grating_pictures(low_detail_picture(), FLOOD_PICTURES)):
        (flood / f"grating-{k:02d}.png").write_bytes(data)
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
            _vics_media(3, 3, base / "photo.jpg"),
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
    return {
        "base": base,
        "home": home,
        "vigil": vigil,
        "evidence": evidence,
        "report": report,
        "items": items,
        "flood_id": items["Saved/plain.png"]["match"]["entry_id"],
        "land_id": items["Pictures/land-100.jpg"]["match"]["entry_id"],
        "photo_id": items["Copies/png.jpg"]["match"]["entry_id"],
    }


GRATINGS = [f"Saved/grating-{k:02d}.png" for k in range(FLOOD_PICTURES)]
COPY_PATHS = sorted([f"Copies/{name}.jpg" for name in copy_edits()] + ["Again/resize.jpg"])


def test_flood_pictures_are_near_the_entry_and_far_from_each_other(flood: dict) -> None:
    entry = pdq_for_file(flood["evidence"] / "Saved" / "plain.png", "reference")
    assert entry.quality is not None and 50 <= entry.quality < 80  # low detail, still used
    own = [pdq_for_file(flood["evidence"] / p, "fast").hash for p in GRATINGS]
    assert max(hamming(entry.hash, h) for h in own) <= 31
    assert min(hamming(a, b) for a, b in itertools.combinations(own, 2)) > 31
    assert [flood["items"][p]["pdq"] for p in GRATINGS] == own


def test_flooding_entry_is_listed_as_suspect(flood: dict) -> None:
    r = flood["report"]
    policy = r["flood_policy"]
    assert (policy["max_share"], policy["min_contents"], policy["group_distance"]) == (
        0.01,
        3,
        31,
    )
    assert policy["pictures"] == PICTURES
    share = round(FLOOD_PICTURES / PICTURES, 6)
    assert r["suspect_entries"] == [
        {
            "hashset": "known",
            "entry_id": flood["flood_id"],
            "grade": "B",
            "contents": FLOOD_PICTURES,
            "groups": FLOOD_PICTURES,
            "share": share,
            "group_share": share,
        }
    ]
    jsonschema.validate(r, json.loads(SCHEMA.read_text()))


def test_twenty_copies_of_one_known_picture_are_all_counted(flood: dict) -> None:
    for path in COPY_PATHS:
        it = flood["items"][path]
        m = it["match"]
        assert (m["entry_id"], m["basis"], m["suspect"]) == (flood["photo_id"], "perceptual", False)
        assert (it["grade"]["code"], it["status"]) == ("C", "graded"), path
    assert flood["report"]["copied_entries"] == [
        {
            "hashset": "known",
            "entry_id": flood["photo_id"],
            "grade": "C",
            "contents": COPIES,
            "groups": 1,
            "share": round(COPIES / PICTURES, 6),
            "group_share": round(1 / PICTURES, 6),
        }
    ]
    # The duplicate policy: the two byte-identical copies are one distinct picture.
    assert flood["items"]["Again/resize.jpg"]["sha256"] == flood["items"]["Copies/resize.jpg"][
        "sha256"
    ]


def test_suspect_matches_stay_on_the_items_but_grade_nothing(flood: dict) -> None:
    for path in GRATINGS:
        it = flood["items"][path]
        m = it["match"]
        assert (m["hashset"], m["entry_id"], m["basis"], m["grade"], m["variant"]) == (
            "known",
            flood["flood_id"],
            "perceptual",
            "B",
            "original",
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


def test_grade_totals_count_every_copy_and_no_flood_match(flood: dict) -> None:
    t = flood["report"]["totals"]
    grades = {g["grade"]: (g["images"]["distinct"], g["images"]["items"]) for g in t["grades"]}
    # C: land-100 (exact), its resized copy, the 20 copies of the photo (21 items).
    assert grades == {"B": (1, 1), "C": (2 + COPIES, 2 + COPIES + 1)}
    assert t["matched"] == {"items": 3 + COPIES + 1, "distinct": 3 + COPIES}
    assert t["suspect_matches"] == {"items": FLOOD_PICTURES, "distinct": FLOOD_PICTURES}
    assert t["unknown_images"]["distinct"] == LANDSCAPES - 1 + FLOOD_PICTURES
    (exhibit,) = flood["report"]["exhibits"]
    assert exhibit["totals"]["suspect_matches"] == t["suspect_matches"]
    (c_row,) = [g for g in t["grades"] if g["grade"] == "C"]
    assert c_row["per_exhibit"]["images"] == 2 + COPIES


def test_html_csv_and_pdf_show_the_suspect_entry_and_the_copies(flood: dict) -> None:
    out = flood["base"] / "rep"
    share = f"{100 * FLOOD_PICTURES / PICTURES:.2f}%"
    copies_share = f"{100 * COPIES / PICTURES:.2f}%"
    html = (out / "report.html").read_text()
    assert "Suspect hash-set entries (match floods)" in html
    assert "PDQ distance among them" in html
    row = (
        f'<tr><td>known</td><td class="n">{flood["flood_id"]}</td><td>B</td>'
        f'<td class="n">{FLOOD_PICTURES}</td><td class="n">{FLOOD_PICTURES}</td>'
        f'<td class="n">{share}</td></tr>'
    )
    assert row in html
    assert "Hash-set entries matching many copies of one picture (counted)" in html
    copies_row = (
        f'<tr><td>known</td><td class="n">{flood["photo_id"]}</td><td>C</td>'
        f'<td class="n">{COPIES}</td><td class="n">1</td><td class="n">{copies_share}</td></tr>'
    )
    assert copies_row in html
    assert html.count("[suspect match: known entry") == FLOOD_PICTURES
    rows = list(csv.DictReader(io.StringIO((out / "items.csv").read_text())))
    suspect = sorted(r["path"] for r in rows if r["suspect"] == "True")
    assert suspect == GRATINGS
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
    n = str(FLOOD_PICTURES)
    assert ["known", str(flood["flood_id"]), "B", n, n, share] in words
    assert ["known", str(flood["photo_id"]), "C", str(COPIES), "1", copies_share] in words


@pytest.mark.parametrize(
    "option",
    [("--flood-share", "0.25"), ("--flood-min-contents", str(FLOOD_PICTURES + 1))],
)
def test_thresholds_are_settings_recorded_in_the_report(
    flood: dict, option: tuple[str, str]
) -> None:
    out = flood["base"] / f"rep{option[0]}"
    r = _report(flood["vigil"], "F", out, "--format", "json", *option)
    policy = r["flood_policy"]
    assert (policy["max_share"], policy["min_contents"]) == {
        "--flood-share": (0.25, 3),
        "--flood-min-contents": (0.01, FLOOD_PICTURES + 1),
    }[option[0]]
    assert r["suspect_entries"] == []
    grades = {g["grade"]: g["images"]["distinct"] for g in r["totals"]["grades"]}
    assert grades == {"B": 1 + FLOOD_PICTURES, "C": 2 + COPIES}
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
    for path in GRATINGS:
        assert (items[path]["match"], items[path]["status"]) == (None, "unknown")
    perceptual = [
        i["path"]
        for i in r["items"]
        if i["match"] and i["match"]["entry_id"] == flood_id and i["match"]["basis"] != "exact"
    ]
    assert perceptual == []
    # Suppression is perceptual only: the identical bytes are still the graded file.
    assert items["Saved/plain.png"]["match"]["basis"] == "exact"
    grades = {g["grade"]: g["images"]["distinct"] for g in r["totals"]["grades"]}
    assert grades == {"B": 1, "C": 2 + COPIES}
    assert r["totals"]["suspect_matches"] == {"items": 0, "distinct": 0}
    # Suppression applies at match time: the set keeps its one index file, not rebuilt.
    assert len(list((flood["home"] / "index").glob("pdq-*.idx"))) == 1


def _flip(pdq: str, bits: range) -> str:
    value = int(pdq, 16)
    for bit in bits:
        value ^= 1 << bit
    return f"{value:064x}"


def test_group_pictures_counts_pictures_as_pdq_sees_them() -> None:
    a = pdq_for_file(ROOT / ".." / "shared" / "reference" / "pdq" / "data" / "bridge-mods"
                     / "aaa-orig.jpg", "reference").hash  # fmt: skip
    near_a = _flip(a, range(0, 20))
    b = _flip(a, range(100, 160))
    near_b, also_b = _flip(b, range(200, 210)), _flip(b, range(195, 220))
    assert group_pictures([]) == []
    assert group_pictures([a, near_a, b, near_b, also_b]) == [3, 2]
    assert group_pictures([a, b]) == [1, 1]
    # A picture between two far ones does not make them one picture.
    hub = [a, _flip(a, range(0, 30)), _flip(a, range(0, 60))]
    assert group_pictures(hub) == [2, 1]
    # Around a hub near all of them, pictures far from each other stay apart.
    spokes = [_flip(a, range(40 * k, 40 * k + 24)) for k in range(6)]
    assert group_pictures([a, *spokes]) == [2, 1, 1, 1, 1, 1]
    assert group_pictures([a, spokes[0], _flip(spokes[0], range(250, 256))]) == [3]


def test_rotate_hash_is_near_the_variant_computed_from_the_block() -> None:
    result = pdq_for_file(ROOT / ".." / "shared" / "reference" / "pdq" / "data" / "bridge-mods"
                          / "aaa-orig.jpg", "fast")  # fmt: skip
    assert rotate_hash(result.hash, "orig") == result.hash
    distances = {
        name: hamming(rotate_hash(result.hash, name), result.variants[name])
        for name in ("rot90", "rot180", "rot270", "flipx", "flipy", "flip_diag", "flip_antidiag")
    }
    assert max(distances.values()) <= 24, distances
    assert min(hamming(rotate_hash(result.hash, n), result.hash) for n in distances) > 64
