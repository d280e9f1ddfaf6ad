"""Exact matching against a library built from the shared hash-set fixtures."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from vigil.errors import UsageError
from vigil.hashsets.library import HashSetLibrary
from vigil.matching.exact import ExactMatcher
from vigil.model import Match

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures"
HASHSETS = SHARED / "hashsets"
MANIFEST = json.loads((HASHSETS / "expected_manifest.json").read_text(encoding="utf-8"))
KNOWN = MANIFEST["known_good"]
NOTABLE = MANIFEST["notable"]
DECOYS = MANIFEST["decoys"]

# set name -> fixture file; chosen so each algorithm is the strongest hit somewhere.
SETS = {
    "nsrl": "nsrl_rdsv3_minimal_sample.db",  # md5 + sha1 + sha256, known good
    "pv": "vics_2.0_media.json",  # md5 + sha1, categories 3 and 0
    "deep": "notable.hashdeep",  # md5 + sha256
    "encase": "encase_notable.hash",  # md5 only
    "sha1s": "plain_sha1_upper_crlf.txt",  # sha1 only
}
STRONGEST = {"nsrl": "sha256", "pv": "sha1", "deep": "sha256", "encase": "md5", "sha1s": "sha1"}
NOTABLE_SETS = {"pv", "deep", "encase", "sha1s"}


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> HashSetLibrary:
    assert HASHSETS.is_dir(), f"shared fixtures missing at {HASHSETS}"
    library = HashSetLibrary(tmp_path_factory.mktemp("library"))
    for name, filename in SETS.items():
        library.import_file(HASHSETS / filename, name)
    return library


@pytest.fixture(scope="module")
def matcher(library: HashSetLibrary) -> Iterator[ExactMatcher]:
    exact = ExactMatcher(library)
    yield exact
    exact.close()


def _entry_is(library: HashSetLibrary, entry_id: int, md5: str, sha1: str, sha256: str) -> bool:
    """True if every hash the stored entry carries equals the content's."""
    # Through the library: a VICS set's entries are hash arrays (a block), not rows.
    found = library.entry(entry_id)
    assert found is not None
    stored = [found[1].md5, found[1].sha1, found[1].sha256]
    given = (md5, sha1, sha256)
    return any(stored) and all(s in (None, c) for s, c in zip(stored, given, strict=True))


def _by_set(matches: list[Match]) -> dict[str, Match]:
    result = {m.hashset: m for m in matches}
    assert len(result) == len(matches), "more than one match for one set"
    return result


@pytest.mark.parametrize("entry", NOTABLE + DECOYS, ids=lambda e: e["label"])
def test_notable_entry_hits_every_notable_set(
    matcher: ExactMatcher, library: HashSetLibrary, entry: dict[str, object]
) -> None:
    hits = _by_set(matcher.match(entry["md5"], entry["sha1"], entry["sha256"]))
    assert set(hits) == NOTABLE_SETS
    for name, match in hits.items():
        assert match.algorithm == STRONGEST[name]
        assert match.basis == "exact" and match.known_good is False
        assert _entry_is(library, match.entry_id, entry["md5"], entry["sha1"], entry["sha256"])
    expected_grade = "0" if entry in DECOYS else "3"
    assert hits["pv"].grade == expected_grade
    assert hits["encase"].grade is None


@pytest.mark.parametrize("entry", KNOWN, ids=lambda e: e["label"])
def test_known_entry_hits_only_nsrl_as_known_good(
    matcher: ExactMatcher, entry: dict[str, object]
) -> None:
    hits = matcher.match(entry["md5"], entry["sha1"], entry["sha256"])
    assert len(hits) == 1
    assert (hits[0].hashset, hits[0].algorithm, hits[0].known_good) == ("nsrl", "sha256", True)
    assert hits[0].grade is None


def test_single_algorithm_hits(matcher: ExactMatcher) -> None:
    entry = NOTABLE[0]
    only_md5 = _by_set(matcher.match(entry["md5"], None, None))
    assert {n: m.algorithm for n, m in only_md5.items()} == {
        "pv": "md5",
        "deep": "md5",
        "encase": "md5",
    }
    only_sha1 = _by_set(matcher.match(None, entry["sha1"].upper(), None))
    assert {n: m.algorithm for n, m in only_sha1.items()} == {"pv": "sha1", "sha1s": "sha1"}


def test_probes_and_decoys_never_match_fixture_content(
    matcher: ExactMatcher, library: HashSetLibrary
) -> None:
    contents = list(_zip_members(SHARED / "archives" / "bundle.zip"))
    contents += list(_zip_members(SHARED / "archives" / "nested.zip"))
    contents += [p.read_bytes() for p in sorted((SHARED / "archives").iterdir())]
    contents += [p.read_bytes() for p in sorted(HASHSETS.iterdir())]
    contents += [bytes([n]) * 64 for n in range(256)]
    manifest_md5 = {e["md5"] for e in KNOWN + NOTABLE + DECOYS}
    probes = {e["md5"] for e in NOTABLE if e["label"].startswith("probe")}
    probes |= {e["md5"] for e in DECOYS}
    hit_labels = 0
    for data in contents:
        md5 = hashlib.md5(data).hexdigest()
        sha1, sha256 = hashlib.sha1(data).hexdigest(), hashlib.sha256(data).hexdigest()
        matches = matcher.match(md5, sha1, sha256)
        assert md5 not in probes
        if md5 not in manifest_md5:
            assert matches == []
            continue
        hit_labels += 1
        assert matches
        assert all(_entry_is(library, m.entry_id, md5, sha1, sha256) for m in matches)
    assert hit_labels >= 2  # hello.txt and deep.txt are inside the zips


def _zip_members(path: Path) -> Iterator[bytes]:
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            data = archive.read(info)
            yield data
            if zipfile.is_zipfile(io.BytesIO(data)):
                with zipfile.ZipFile(io.BytesIO(data)) as inner:
                    for member in inner.infolist():
                        if not member.is_dir():
                            yield inner.read(member)


def test_selected_sets_only(library: HashSetLibrary) -> None:
    entry = NOTABLE[1]
    only = ExactMatcher(library, ["encase"])
    assert [m.hashset for m in only.match(entry["md5"], entry["sha1"], entry["sha256"])] == [
        "encase"
    ]
    only.close()
    with pytest.raises(UsageError, match="no hash set named 'nope'"):
        ExactMatcher(library, ["nope"])


def test_bad_and_empty_input_never_crash(matcher: ExactMatcher) -> None:
    assert matcher.match("", "", "") == []
    assert matcher.match(None, None, None) == []
    assert matcher.match("zz", "not hex", "12") == []


def test_removed_set_no_longer_matches(tmp_path: Path) -> None:
    library = HashSetLibrary(tmp_path)
    library.import_file(HASHSETS / "plain_md5.txt", "md5s")
    matcher = ExactMatcher(library)
    entry = NOTABLE[0]
    assert len(matcher.match(entry["md5"], entry["sha1"], entry["sha256"])) == 1
    library.remove("md5s")
    assert matcher.match(entry["md5"], entry["sha1"], entry["sha256"]) == []
    matcher.close()


def test_sets_imported_later_are_not_consulted(tmp_path: Path) -> None:
    library = HashSetLibrary(tmp_path)
    library.import_file(HASHSETS / "plain_md5.txt", "first")
    matcher = ExactMatcher(library)
    library.import_file(HASHSETS / "md5sum_style.md5", "later")
    entry = NOTABLE[0]
    assert [m.hashset for m in matcher.match(entry["md5"], None, None)] == ["first"]
    matcher.close()


def test_matcher_is_safe_across_threads(matcher: ExactMatcher) -> None:
    entries = (KNOWN + NOTABLE + DECOYS) * 20

    def lookup(entry: dict[str, object]) -> list[tuple[str, str]]:
        found = matcher.match(entry["md5"], entry["sha1"], entry["sha256"])
        return sorted((m.hashset, m.algorithm) for m in found)

    expected = [lookup(e) for e in entries]
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(lookup, entries)) == expected


def test_hashes_of_different_entries_give_one_match_per_entry(matcher: ExactMatcher) -> None:
    notable, known = NOTABLE[0], KNOWN[0]
    hits = _by_set(matcher.match(notable["md5"], None, known["sha256"]))
    assert {n: m.algorithm for n, m in hits.items()} == {
        "nsrl": "sha256",
        "pv": "md5",
        "deep": "md5",
        "encase": "md5",
    }
