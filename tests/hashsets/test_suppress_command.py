"""``vigil hashset suppress`` and ``vigil hashset suppressed`` through the real CLI app.

The end-to-end case (suppress a flooding entry, rescan, no suspect entry and no match)
is ``tests/report/test_floods.py::test_suppressed_entry_no_longer_matches_in_a_rescan``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vigil.cli import app
from vigil.errors import VigilError
from vigil.hashing.pdq import pdq_for_file
from vigil.hashsets.library import HashSetLibrary
from vigil.matching.perceptual import PerceptualMatcher
from vigil.model import Hashes

PDQ_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "pdq" / "data"
BRIDGE = PDQ_DATA / "bridge-mods" / "aaa-orig.jpg"
PEN = PDQ_DATA / "reg-test-input" / "pen-and-coaster.png"
BRIDGE_PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def _vigil(home: Path, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args), env={"VIGIL_HOME": str(home), "COLUMNS": "200"})
    exit_code = result.exit_code
    if isinstance(result.exception, VigilError):  # as vigil.cli.main maps it
        exit_code = result.exception.exit_code
    assert exit_code == code, (args, result.output, result.exception)
    return result.output


def _picture(path: Path) -> Hashes:
    r = pdq_for_file(path, "reference")
    assert r.hash is not None and r.quality is not None
    return Hashes(
        size=0,
        md5="",
        sha1="",
        sha256="",
        media="image",
        pdq=r.hash,
        pdq_quality=r.quality,
        pdq_variants=r.variants,
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A library with a PDQ list of two benign reference pictures, grades B and C."""
    home = tmp_path / "home"
    home.mkdir()
    bank = tmp_path / "bank.txt"
    bank.write_text(f"{BRIDGE_PDQ},2\n{pdq_for_file(PEN, 'reference').hash},3\n")
    _vigil(home, "hashset", "import", str(bank), "--name", "pdqs", "--format", "pdq",
           "--scheme", "uk", "--category-map", "2=B,3=C")  # fmt: skip
    return home


def _entry(home: Path, picture: Hashes) -> int:
    (match,) = PerceptualMatcher(HashSetLibrary(home), None).match_picture(picture)
    return match.entry_id


def test_suppressed_entry_leaves_the_bank_and_is_listed(home: Path) -> None:
    bridge, pen = _picture(BRIDGE), _picture(PEN)
    entry = _entry(home, bridge)
    assert "no suppressed entries" in _vigil(home, "hashset", "suppressed")
    state = HashSetLibrary(home).state()
    (index_file,) = (home / "index").glob("pdq-*.idx")
    written = index_file.stat().st_ino

    said = _vigil(home, "hashset", "suppress", "pdqs", str(entry), "--reason", "  floods  ")
    assert f"suppressed entry {entry} of pdqs" in said

    listed = json.loads(_vigil(home, "hashset", "suppressed", "--json"))
    assert listed == [{"entry_id": entry, "reason": "floods"}]
    assert "floods" in _vigil(home, "hashset", "suppressed")
    library = HashSetLibrary(home)
    assert library.state() != state
    matcher = PerceptualMatcher(library, None)
    assert matcher.match_picture(bridge) == []
    (still,) = matcher.match_picture(pen)
    assert (still.grade, still.distance, still.variant) == ("C", 0, "original")
    # Suppression is applied at match time: the set's index file is kept as it was.
    assert [p.stat().st_ino for p in (home / "index").glob("pdq-*.idx")] == [written]


def test_suppressing_again_replaces_the_reason(home: Path) -> None:
    entry = _entry(home, _picture(BRIDGE))
    _vigil(home, "hashset", "suppress", "pdqs", str(entry), "--reason", "first look")
    _vigil(home, "hashset", "suppress", "pdqs", str(entry), "--reason", "template picture")
    listed = json.loads(_vigil(home, "hashset", "suppressed", "--json"))
    assert listed == [{"entry_id": entry, "reason": "template picture"}]


@pytest.mark.parametrize(
    "args",
    [
        ("pdqs", "999999", "--reason", "no such entry"),
        ("other", "1", "--reason", "no such set"),
        ("pdqs", "1", "--reason", "   "),
        ("pdqs", "1"),  # a reason is required
        ("pdqs", "one", "--reason", "not a number"),
    ],
)
def test_bad_requests_are_usage_errors_and_change_nothing(
    home: Path, args: tuple[str, ...]
) -> None:
    state = HashSetLibrary(home).state()
    _vigil(home, "hashset", "suppress", *args, code=2)
    assert HashSetLibrary(home).state() == state
    assert HashSetLibrary(home).suppressed() == {}
