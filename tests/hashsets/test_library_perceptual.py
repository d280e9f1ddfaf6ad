"""Perceptual hash sets in the library: PDQ lists, vPDQ videos, suppressed entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.errors import HashSetFormatError
from vigil.hashsets.library import HashSetLibrary
from vigil.hashsets.vpdq_file import read_vpdq_file

from .conftest import FIXTURES

VPDQ = FIXTURES.parents[1] / "reference" / "vpdq" / "sample-hashes"
H1 = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
H2 = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22"


def test_pdq_list_with_categories_is_imported_only_by_name(tmp_path: Path) -> None:
    bank = tmp_path / "bank.txt"
    bank.write_text(f"# two benign pictures\n{H1},1\n{H2.upper()}\tA\nnot-a-hash,2\n")
    lib = HashSetLibrary(tmp_path / "home")
    res = lib.import_file(bank, "pdqs", fmt="pdq", scheme="uk", category_map="1=A,A=B")
    assert (res.entries, res.malformed) == (2, 1)
    assert res.malformed_samples[0].record == 4
    assert sorted((h, g) for _, _, h, g in lib.entries_with_pdq()) == [(H2, "B"), (H1, "A")]
    # The same kind of lines without --format pdq are a SHA-256 list, never PDQ.
    plain = tmp_path / "plain.txt"
    plain.write_text(f"{H1}\n")
    assert lib.import_file(plain, "sha", fmt="auto").format == "plain"
    assert [h for *_x, h, _g in lib.entries_with_pdq()] == [H1, H2]


def test_vpdq_file_becomes_one_video_entry(tmp_path: Path) -> None:
    lib = HashSetLibrary(tmp_path / "home")
    src = VPDQ / "pattern-sd-grey-bar.txt"
    res = lib.import_file(src, "videos", grade="C", scheme="uk")
    assert (res.format, res.entries, res.malformed) == ("vpdq", 1, 0)
    [(entry_id, name, grade, frames)] = list(lib.video_entries())
    assert (name, grade) == ("videos", "C")
    assert frames == read_vpdq_file(src).frames
    lib.remove("videos")
    assert list(lib.video_entries()) == []


def test_vpdq_reader_rejects_other_text(tmp_path: Path) -> None:
    lib = HashSetLibrary(tmp_path / "home")
    with pytest.raises(HashSetFormatError):
        lib.import_file(FIXTURES / "md5sum_style.md5", "x", fmt="vpdq")
    assert lib.list() == []


def test_suppressed_entries_leave_the_perceptual_bank(tmp_path: Path) -> None:
    bank = tmp_path / "bank.txt"
    bank.write_text(f"{H1}\n{H2}\n")
    lib = HashSetLibrary(tmp_path / "home")
    lib.import_file(bank, "pdqs", fmt="pdq")
    before = lib.state()
    first = next(iter(lib.entries_with_pdq()))[0]
    lib.suppress("pdqs", first, "flat picture, matches everything")
    assert [h for *_x, h, _g in lib.entries_with_pdq()] == [H2]
    assert lib.suppressed() == {first: "flat picture, matches everything"}
    assert lib.state() != before


def test_nsrl_family_name_picks_the_release_format(tmp_path: Path) -> None:
    lib = HashSetLibrary(tmp_path / "home")
    v3 = lib.import_file(FIXTURES / "nsrl_rdsv3_minimal_sample.db", "v3", fmt="nsrl")
    v2 = lib.import_file(FIXTURES / "NSRLFile.txt", "v2", fmt="nsrl")
    assert (v3.format, v3.entries, v3.known_good) == ("nsrl_v3", 5, True)
    assert (v2.format, v2.entries, v2.known_good) == ("nsrl_v2", 5, True)
    with pytest.raises(HashSetFormatError):
        lib.import_file(FIXTURES / "plain_md5.txt", "x", fmt="nsrl")
