"""End-to-end: a scan against a PDQ bank finds planted near-duplicates of its pictures."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests_support import run_vigil
from vigil.demo import build_demo_evidence
from vigil.hashing.pdq import pdq_for_file
from vigil.hashsets.library import HashSetLibrary

PICTURES = "Users/alex/Pictures"
# picture -> (bits flipped in the planted bank entry, its category in the bank)
PLANTED = {
    "holiday/hills.jpg": (4, "1"),
    "misc/valley.bmp": (17, "2"),
    "phone/IMG_0003.jpg": (33, "1"),
}


def _flipped(hex_hash: str, count: int, rng: np.random.Generator) -> str:
    bits = np.unpackbits(np.frombuffer(bytes.fromhex(hex_hash), np.uint8))
    bits[rng.choice(256, count, replace=False)] ^= 1
    return np.packbits(bits).tobytes().hex()


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, dict], dict[str, int]]:
    base = tmp_path_factory.mktemp("bank")
    home, evidence = base / "home", base / "evidence"
    home.mkdir()
    build_demo_evidence(evidence)
    rng = np.random.default_rng(8)
    lines = [f"{bytes(row).hex()},3" for row in rng.integers(0, 256, (20_000, 32), np.uint8)]
    planted = {}
    for rel, (flips, category) in PLANTED.items():
        scanned_hash = pdq_for_file(evidence / PICTURES / rel, "fast").hash
        planted[rel] = _flipped(scanned_hash, flips, rng)
        lines.insert(int(rng.integers(0, len(lines))), f"{planted[rel]},{category}")
    (base / "bank.pdq").write_text("\n".join(lines) + "\n")
    run_vigil(
        ["hashset", "import", str(base / "bank.pdq"), "--name", "national", "--format", "pdq",
         "--scheme", "uk", "--category-map", "1=A,2=B,3=C"],
        home,
    )  # fmt: skip
    ids = {pdq: entry for entry, _, pdq, _ in HashSetLibrary(home).entries_with_pdq()}
    scan = ["scan", str(evidence), "--case", "P", "--exhibit", "E", "-q", "--workers", "2"]
    run_vigil(scan, home)
    run_vigil(["report", "P", "--format", "json", "--out", str(base / "rep")], home)
    report = json.loads((base / "rep" / "report.json").read_text())
    items = {i["path"].removeprefix(f"{PICTURES}/"): i for i in report["items"]}
    return items, {rel: ids[value] for rel, value in planted.items()}


@pytest.mark.parametrize(("rel", "grade", "distance"), [
    ("holiday/hills.jpg", "A", 4), ("misc/valley.bmp", "B", 17)])  # fmt: skip
def test_planted_near_duplicates_match_their_entry(scanned, rel, grade, distance) -> None:
    items, entry_ids = scanned
    m = items[rel]["match"]
    assert (m["hashset"], m["entry_id"], m["grade"], m["distance"]) == (
        "national",
        entry_ids[rel],
        grade,
        distance,
    )
    assert (m["basis"], m["algorithm"], m["variant"]) == ("perceptual", "pdq", "original")


def test_beyond_the_threshold_and_random_entries_do_not_match(scanned) -> None:
    items, _ids = scanned
    assert items["phone/IMG_0003.jpg"]["match"] is None  # 33 bits from its entry
    for rel in ("holiday/sunset.png", "misc/forest.webp", "phone/IMG_0002.jpg"):
        assert items[rel]["match"] is None, rel
