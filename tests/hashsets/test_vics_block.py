"""A VICS set imported as an exact-hash block: the same entries, errors and matches as the
reference reader (``vics.read``) and as the rows of a schema-4 library; a scan matches by
MD5 and by SHA-1; removal deletes its arrays."""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
from pathlib import Path

import pytest

from tests_support import run_vigil
from vigil.demo import build_demo_evidence
from vigil.hashsets import exact_block
from vigil.hashsets.entry import HashEntry, Malformed
from vigil.hashsets.formats import vics
from vigil.hashsets.library import HashSetLibrary
from vigil.hashsets.schemes import category_policy, load_scheme
from vigil.matching.exact import ExactMatcher

CONTEXT = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media"
RECORDS = 2_000


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


def _generated(path: Path) -> Path:
    """2,000 benign records: plain ones, duplicates, MD5-only, SHA-1-only, SHA-256, PDQ,
    PhotoDNA and names, odd spellings the reference accepts, and malformed records."""
    rng = random.Random(13)
    media: list[object] = []
    for index in range(1, RECORDS + 1):
        record: dict[str, object] = {
            "MediaID": index,
            "Category": index % 5,
            "MD5": _hex(rng, 32).upper(),
            "SHA1": _hex(rng, 40),
            "MediaSize": rng.randrange(1 << 34),
        }
        kind = index % 20
        if kind == 1:  # a duplicate of an earlier record's hashes, another category
            earlier = media[rng.randrange(len(media))] if media else record
            assert isinstance(earlier, dict)
            record.update(MD5=earlier.get("MD5"), SHA1=earlier.get("SHA1"), Category="3")
        elif kind == 2:
            del record["SHA1"]
        elif kind == 3:
            del record["MD5"]
        elif kind == 4:
            record["SHA256"] = _hex(rng, 64)
        elif kind == 5:
            record["AlternativeHashes"] = [{"HashName": "PDQ", "HashValue": _hex(rng, 64)}]
            record["PhotoDNA"] = f"benign,opaque/{index}"
        elif kind == 6:
            record["Name"] = f"landscape_{index}.jpg"
            record["MediaSize"] = str(record["MediaSize"])
        elif kind == 7:
            record["MD5"] = f"  {record['MD5']} "  # surrounding blanks: accepted, stripped
            record["Category"] = None
        elif kind == 8:
            record["MediaFiles"] = [{"FileName": f"gradient_{index}.png"}]
        elif kind == 9 and index % 500 == 9:
            record["MD5"] = "not hex at all, 32 characters.."  # malformed
        elif kind == 10 and index % 500 == 10:
            record["MediaSize"] = -5  # malformed
        elif kind == 11 and index % 500 == 11:
            record = {"MediaID": index, "Category": 1}  # no hash: malformed
        elif kind == 12 and index % 1000 == 12:
            media.append("a string, not a Media object")  # malformed
            continue
        elif kind == 13 and index % 1000 == 13:
            record["MD5"] = record["MD5"][:16] + " " + record["MD5"][17:]  # malformed
        elif kind == 14:
            record["MediaSize"] = True if index % 1000 == 14 else None  # malformed / none
        media.append(record)
    path.write_text(json.dumps({"@odata.context": CONTEXT, "value": media}, indent=1))
    return path


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _generated(tmp_path_factory.mktemp("vics") / "bank.json")


def _expected(path: Path) -> tuple[list[tuple[int, HashEntry, str | None]], list[Malformed]]:
    """Entry ids, entries and grades a fresh library must give, from the reference reader."""
    policy = category_policy(load_scheme("projectvic"), True, "vics")
    read = list(vics.read(path))
    entries = [item for item in read if isinstance(item, HashEntry)]
    expected = [(i, e, policy.grade_for(e.category)[0]) for i, e in enumerate(entries, 1)]
    return expected, [item for item in read if isinstance(item, Malformed)]


def _oracle(entries: list[tuple[int, HashEntry, str | None]]):  # type: ignore[no-untyped-def]
    """Brute force: each entry whose hash equals one given, once, under its strongest such
    algorithm (strongest first, then by id)."""
    by_value: dict[tuple[str, str], list[tuple[int, str | None]]] = {}
    for entry_id, entry, grade in entries:
        for algorithm in ("sha256", "sha1", "md5"):
            if value := getattr(entry, algorithm):
                by_value.setdefault((algorithm, value), []).append((entry_id, grade))

    def matches(md5: str, sha1: str, sha256: str) -> list[tuple[int, str | None, str, str]]:
        found: dict[int, tuple[int, str | None, str, str]] = {}
        for algorithm, value in (("sha256", sha256), ("sha1", sha1), ("md5", md5)):
            for entry_id, grade in by_value.get((algorithm, value), []):
                found.setdefault(entry_id, (entry_id, grade, "exact", algorithm))
        return list(found.values())

    return matches


def _probes(entries: list[tuple[int, HashEntry, str | None]]) -> list[tuple[str, str, str]]:
    rng = random.Random(5)
    probes = []
    for _id, entry, _grade in entries:
        other = entries[rng.randrange(len(entries))][1]
        probes.append((entry.md5 or _hex(rng, 32), entry.sha1 or _hex(rng, 40),
                       entry.sha256 or _hex(rng, 64)))
        probes.append((entry.md5 or "", other.sha1 or "", ""))  # one entry by MD5, one by SHA-1
    probes.extend((_hex(rng, 32), _hex(rng, 40), _hex(rng, 64)) for _ in range(200))
    return probes


def _matches(library: HashSetLibrary, probes: list[tuple[str, str, str]]) -> list[list[tuple]]:
    matcher = ExactMatcher(library)
    try:
        return [[(m.entry_id, m.grade, m.basis, m.algorithm) for m in matcher.match(*probe)]
                for probe in probes]
    finally:
        matcher.close()


def test_block_gives_the_reference_entries_errors_and_matches(
    generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected, malformed = _expected(generated)
    assert len(expected) == RECORDS - len(malformed) and 12 <= len(malformed) <= 20
    library = HashSetLibrary(tmp_path / "block")
    result = library.import_file(generated, "pv")
    assert (result.entries, result.malformed) == (len(expected), len(malformed))
    assert result.malformed_samples == malformed  # every one, with its record number
    assert {m.record for m in malformed} >= {9, 10, 11, 12, 13, 14}
    assert list(library.entries("pv")) == expected
    with sqlite3.connect(library.path) as connection:
        assert connection.execute("SELECT count(*) FROM entry").fetchone() == (0,)
        assert connection.execute("SELECT kind, first_id, count FROM entry_block").fetchall() == [
            ("exact", 1, len(expected))
        ]
    assert library.entry(7) == ("pv", expected[6][1], expected[6][2])
    with_pdq = [(i, e.pdq, g) for i, e, g in expected if e.pdq]
    assert [(i, "pv", p, g) for i, p, g in with_pdq] == list(library.entries_with_pdq())

    probes = _probes(expected)
    found = _matches(library, probes)
    oracle = _oracle(expected)
    assert found == [oracle(*probe) for probe in probes]
    assert sum(len(hits) > 1 for hits in found) >= 50  # the duplicates each match twice

    # The same file as rows (a library imported before schema 5): the same matches.
    monkeypatch.setattr(vics, "EXACT_BLOCK", False)
    rows = HashSetLibrary(tmp_path / "rows")
    rows.import_file(generated, "pv")
    assert _matches(rows, probes) == found
    assert list(rows.entries("pv")) == expected


def test_schema_4_library_with_vics_rows_keeps_matching(
    generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vics, "EXACT_BLOCK", False)
    library = HashSetLibrary(tmp_path)
    library.import_file(generated, "old")
    with sqlite3.connect(library.path) as connection:
        connection.execute("ALTER TABLE entry_block DROP COLUMN kind")
        connection.execute("PRAGMA user_version = 4")
    monkeypatch.undo()
    reopened = HashSetLibrary(tmp_path)
    reopened.import_file(generated, "new")
    with sqlite3.connect(reopened.path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone() == (5,)
        kinds = connection.execute("SELECT hashset_id, kind FROM entry_block").fetchall()
    assert kinds == [(reopened.get("new").id, "exact")]
    expected, _ = _expected(generated)
    entry = expected[0][1]
    probe = (entry.md5 or "", entry.sha1 or "", "")
    matcher = ExactMatcher(reopened)
    hits = {(m.hashset, m.algorithm) for m in matcher.match(*probe)}
    matcher.close()
    assert hits == {("old", "sha1"), ("new", "sha1")}
    new_id = reopened.get("new").id
    assert exact_block.block_path(reopened.home, new_id).is_dir()
    reopened.remove("new")
    assert not exact_block.block_path(reopened.home, new_id).exists()
    assert [i.name for i in reopened.list()] == ["old"]


def test_removal_deletes_the_arrays_and_the_range(generated: Path, tmp_path: Path) -> None:
    library = HashSetLibrary(tmp_path)
    library.import_file(generated, "pv")
    set_id = library.get("pv").id
    folder = exact_block.block_path(tmp_path, set_id)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"{a}_{p}.npy" for a in ("md5", "sha1", "sha256") for p in ("key", "digest", "row")]
        + [f"{n}.npy" for n in ("grade", "category", "record", "size", "pdq", "pdq_row")]
        + ["meta.json"]
    )
    library.remove("pv")
    assert not folder.exists() and library.entry(1) is None
    with sqlite3.connect(library.path) as connection:
        assert connection.execute("SELECT count(*) FROM entry_block").fetchone() == (0,)


def test_scan_matches_planted_files_by_md5_and_by_sha1(tmp_path: Path) -> None:
    home, evidence = tmp_path / "home", tmp_path / "evidence"
    home.mkdir()
    build_demo_evidence(evidence)
    pictures = evidence / "Users/alex/Pictures"
    by_md5 = hashlib.md5((pictures / "holiday/hills.jpg").read_bytes()).hexdigest()
    by_sha1 = hashlib.sha1((pictures / "misc/valley.bmp").read_bytes()).hexdigest()
    rng = random.Random(3)
    media = [{"MediaID": i, "Category": 1, "MD5": _hex(rng, 32), "SHA1": _hex(rng, 40)}
             for i in range(1, 301)]
    media.insert(100, {"MediaID": 900, "Category": 2, "MD5": by_md5.upper()})
    media.insert(200, {"MediaID": 901, "Category": 3, "SHA1": by_sha1})
    bank = tmp_path / "bank.json"
    bank.write_text(json.dumps({"@odata.context": CONTEXT, "value": media}))
    run_vigil(["hashset", "import", str(bank), "--name", "national"], home)
    run_vigil(["scan", str(evidence), "--case", "P", "--exhibit", "E", "-q"], home)
    run_vigil(["report", "P", "--format", "json", "--out", str(tmp_path / "rep")], home)
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    items = {i["path"].removeprefix("Users/alex/Pictures/"): i for i in report["items"]}
    found = {rel: (m["hashset"], m["entry_id"], m["grade"], m["basis"], m["algorithm"])
             for rel, item in items.items() if (m := item["match"]) is not None}
    assert found == {
        "holiday/hills.jpg": ("national", 101, "2", "exact", "md5"),
        "misc/valley.bmp": ("national", 201, "3", "exact", "sha1"),
    }
