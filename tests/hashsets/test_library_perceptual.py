"""Perceptual hash sets in the library: PDQ lists, vPDQ videos, suppressed entries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vigil.errors import HashSetFormatError
from vigil.hashing.pdq import hamming
from vigil.hashsets.library import HashSetLibrary
from vigil.hashsets.vpdq_file import read_vpdq_file
from vigil.matching.pdq_index import brute_force, hex_to_codes
from vigil.matching.perceptual import PerceptualMatcher

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


def _write_bank(path: Path, codes: np.ndarray, grades: list[str]) -> None:
    path.write_text("".join(f"{bytes(c).hex()},{g}\n" for c, g in zip(codes, grades, strict=True)))


def _near(codes: np.ndarray, flips: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    bits = np.unpackbits(codes, axis=1)
    for row, count in enumerate(flips):
        bits[row, rng.choice(256, int(count), replace=False)] ^= 1
    return np.packbits(bits, axis=1)


def _oracle(lib: HashSetLibrary, names: list[str], query: str) -> list[tuple[int, int]]:
    rows = list(lib.entries_with_pdq(names))
    codes = hex_to_codes([pdq for _, _, pdq, _ in rows])
    return brute_force(codes, np.array([entry for entry, *_ in rows]), query)


def test_index_files_follow_imports_and_removals(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    uniform = rng.integers(0, 256, (3000, 32), dtype=np.uint8)
    centre = rng.integers(0, 256, (1, 32), dtype=np.uint8)
    clustered = _near(np.repeat(centre, 2000, axis=0), rng.integers(0, 40, 2000), rng)
    _write_bank(tmp_path / "uniform.pdq", uniform, ["1"] * 3000)
    _write_bank(tmp_path / "cluster.pdq", clustered, ["1", "2"] * 1000)
    lib = HashSetLibrary(tmp_path / "home")
    lib.import_file(tmp_path / "uniform.pdq", "uniform", fmt="pdq", scheme="uk", grade="C")
    lib.import_file(
        tmp_path / "cluster.pdq", "cluster", fmt="pdq", scheme="uk", category_map="1=A,2=B"
    )
    index = tmp_path / "home" / "index"
    files = {p.name: p.stat().st_ino for p in index.iterdir()}
    assert sorted(files) == ["pdq-set-1.idx", "pdq-set-2.idx"]
    queries = [bytes(c).hex() for c in _near(np.concatenate([uniform[:20], clustered[:20]]),
                                             rng.integers(0, 33, 40), rng)]  # fmt: skip
    both = PerceptualMatcher(lib, None)
    assert [both.query(q) for q in queries] == [
        _oracle(lib, ["uniform", "cluster"], q) for q in queries
    ]
    grades = {both.entries[entry].grade for q in queries[20:] for entry, _ in both.query(q)}
    assert grades == {"A", "B"}

    lib.remove("uniform")
    # The other set's index is kept as it was; the removed set's file is gone.
    assert {p.name: p.stat().st_ino for p in index.iterdir()} == {
        "pdq-set-2.idx": files["pdq-set-2.idx"]
    }
    only = PerceptualMatcher(lib, None)
    assert [only.query(q) for q in queries] == [_oracle(lib, ["cluster"], q) for q in queries]
    assert all(only.query(q) == [] for q in queries[:20] if not _oracle(lib, ["cluster"], q))

    lib.import_file(tmp_path / "uniform.pdq", "again", fmt="pdq", scheme="uk", grade="C")
    again = PerceptualMatcher(lib, ["again"])
    assert [again.query(q) for q in queries] == [_oracle(lib, ["again"], q) for q in queries]
    assert sum(len(again.query(q)) for q in queries[:20]) >= 20


def test_stale_or_missing_index_is_rebuilt_once(tmp_path: Path) -> None:
    bank = tmp_path / "bank.txt"
    bank.write_text(f"{H1},1\n{H2},2\n")
    lib = HashSetLibrary(tmp_path / "home")
    lib.import_file(bank, "pdqs", fmt="pdq", scheme="uk", category_map="1=A,2=B")
    path = tmp_path / "home" / "index" / "pdq-set-1.idx"
    path.unlink()
    legacy = path.with_name("pdq-" + "0" * 32 + ".idx")
    legacy.write_bytes(b"old cache")
    matcher = PerceptualMatcher(lib, None)
    assert path.exists() and not legacy.exists()
    assert [(e, d) for e, d in matcher.query(H2)] == [(2, 0), (1, hamming(H1, H2))]
    assert [matcher.entries[entry].grade for entry in (1, 2)] == ["A", "B"]
    built = path.stat().st_ino
    PerceptualMatcher(lib, None)
    assert path.stat().st_ino == built
