"""The hash-set library: import, list, remove, atomic failure, categories and grades."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest

from vigil.errors import HashSetFormatError, UsageError
from vigil.hashsets.entry import Malformed
from vigil.hashsets.library import HashSetLibrary, default_home
from vigil.hashsets.schemes import load_scheme, parse_category_map

from .conftest import FIXTURES

VICS = FIXTURES / "vics_2.0_media.json"


@pytest.fixture
def library(tmp_path: Path) -> HashSetLibrary:
    return HashSetLibrary(tmp_path / "home")


def _entry_rows(library: HashSetLibrary) -> list[tuple[object, ...]]:
    with sqlite3.connect(library.path) as connection:
        return connection.execute("SELECT * FROM entry ORDER BY id").fetchall()


def _grades(library: HashSetLibrary, name: str) -> dict[str, int]:
    return library.get(name).categories["grade"]


def test_import_list_get_remove(library: HashSetLibrary) -> None:
    result = library.import_file(VICS, "pv")
    assert (result.name, result.format, result.entries, result.malformed) == ("pv", "vics", 14, 0)
    assert result.known_good is False
    assert result.source_sha256 == hashlib.sha256(VICS.read_bytes()).hexdigest()
    library.import_file(FIXTURES / "nsrl_rdsv3_minimal_sample.db", "nsrl")
    assert [info.name for info in library.list()] == ["nsrl", "pv"]

    info = library.get("pv")
    assert info.format == "vics" and info.scheme == "projectvic" and info.entries == 14
    assert info.source_path == str(VICS.resolve())
    assert info.source_sha256 == result.source_sha256
    assert info.categories == {"source": {"3": 11, "0": 3}, "grade": {"3": 11, "0": 3}}
    assert info.mapping == {c: c for c in "01234"}
    assert datetime.fromisoformat(info.imported_at).utcoffset().total_seconds() == 0
    assert library.get("nsrl").header["version"] == "2099.01.1"

    library.remove("pv")
    assert [info.name for info in library.list()] == ["nsrl"]
    assert len(_entry_rows(library)) == 5
    with pytest.raises(UsageError, match="no hash set named 'pv'"):
        library.get("pv")
    with pytest.raises(UsageError, match="no hash set named 'pv'"):
        library.remove("pv")


def test_library_reopens_with_its_sets(tmp_path: Path) -> None:
    HashSetLibrary(tmp_path).import_file(FIXTURES / "plain_md5.txt", "md5s")
    reopened = HashSetLibrary(tmp_path)
    assert reopened.get("md5s").entries == 14
    with sqlite3.connect(reopened.path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_hashes_are_stored_as_raw_digest_blobs(library: HashSetLibrary) -> None:
    library.import_file(FIXTURES / "nsrl_rdsv3_minimal_sample.db", "nsrl")
    with sqlite3.connect(library.path) as connection:
        row = connection.execute(
            "SELECT md5, sha1, sha256 FROM entry WHERE name = 'a_file'"
        ).fetchone()
    assert row == (
        bytes.fromhex("85bebf486af24792085f769afa46717d"),
        bytes.fromhex("2f5fe1248105fbad54b76b361adbb49322386f8c"),
        bytes.fromhex("4a49638d0e1055fd9e4c17fef7fdf4d6ccf892b6d9c2f64164203c4bfb0ec92d"),
    )


def test_name_already_present_is_refused(library: HashSetLibrary) -> None:
    library.import_file(VICS, "pv")
    with pytest.raises(UsageError, match="already exists"):
        library.import_file(FIXTURES / "plain_md5.txt", "pv")
    assert library.get("pv").format == "vics"


def test_missing_file_is_a_usage_error(library: HashSetLibrary, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such hash-set file"):
        library.import_file(tmp_path / "absent.json", "x")
    with pytest.raises(UsageError, match="unknown hash-set format 'csv'"):
        library.import_file(VICS, "x", fmt="csv")
    with pytest.raises(UsageError, match="a hash set needs a non-empty name"):
        library.import_file(VICS, " ")
    assert library.list() == []


def test_failed_import_leaves_library_unchanged(library: HashSetLibrary, tmp_path: Path) -> None:
    library.import_file(FIXTURES / "plain_md5.txt", "before")
    sets_before, rows_before = library.list(), _entry_rows(library)

    whole = VICS.read_bytes()
    truncated = tmp_path / "cut.json"
    truncated.write_bytes(whole[: whole.index(b'"MediaID": 1,') + 5])  # no record complete
    with pytest.raises(HashSetFormatError, match="nothing intact to import: at record 1, broken"):
        library.import_file(truncated, "cut")
    with pytest.raises(HashSetFormatError, match="not VICS|not an object"):
        library.import_file(FIXTURES / "md5sum_style.md5", "wrong", fmt="vics")

    assert library.list() == sets_before
    assert _entry_rows(library) == rows_before
    assert library.import_file(VICS, "cut").entries == 14  # the name was never taken


def test_malformed_lines_counted_with_line_numbers(library: HashSetLibrary, tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    lines = ["d41d8cd98f00b204e9800998ecf8427e", "zz", "", "1b580e4381e86a362d05fb05e0129889"]
    lines += [f"bad{i}" for i in range(25)]
    path.write_text("\n".join(lines) + "\n")
    result = library.import_file(path, "list", fmt="plain")
    assert result.format == "plain"
    assert result.entries == 2
    assert result.malformed == 26
    assert len(result.malformed_samples) == 20
    assert result.malformed_samples[0] == Malformed(
        2, "'zz' is not an MD5, SHA-1 or SHA-256 hex digest"
    )
    assert [m.record for m in result.malformed_samples[1:3]] == [5, 6]
    assert library.get("list").malformed == 26


def test_projectvic_default_identity_mapping_names_category_zero(
    library: HashSetLibrary,
) -> None:
    result = library.import_file(VICS, "pv")
    assert "identity" in result.mapping_note
    assert "Category 0 is ambiguous" in result.mapping_note
    assert "--category-map" in result.mapping_note
    assert result.unmapped == 0
    assert _grades(library, "pv") == {"3": 11, "0": 3}


def test_category_map_override_and_unmapped(library: HashSetLibrary) -> None:
    result = library.import_file(VICS, "a", category_map="3=1,0=none")
    assert "3=1,0=none" in result.mapping_note
    assert _grades(library, "a") == {"1": 11, "none": 3}
    result = library.import_file(VICS, "b", category_map="3=1")
    assert result.unmapped == 3
    assert library.get("b").unmapped == 3
    assert _grades(library, "b") == {"1": 11, "none": 3}
    assert library.get("b").categories["source"] == {"3": 11, "0": 3}


def test_uk_scheme_without_map_is_refused(library: HashSetLibrary) -> None:
    with pytest.raises(UsageError, match=r"--category-map.*1=A,2=B,3=C,0=none"):
        library.import_file(VICS, "uk", scheme="uk")
    assert library.list() == []
    library.import_file(VICS, "uk", scheme="uk", category_map="3=A,0=N")
    assert _grades(library, "uk") == {"A": 11, "N": 3}
    assert library.get("uk").mapping == {"3": "A", "0": "N"}


def test_unknown_grade_in_map_is_refused(library: HashSetLibrary) -> None:
    with pytest.raises(UsageError, match="grade 'D' is not in scheme 'uk'"):
        library.import_file(VICS, "uk", scheme="uk", category_map="3=D")


def test_grade_for_a_format_without_categories(library: HashSetLibrary) -> None:
    result = library.import_file(FIXTURES / "encase_notable.hash", "en", scheme="uk", grade="B")
    assert "every entry graded B" in result.mapping_note
    assert _grades(library, "en") == {"B": 14}
    library.import_file(FIXTURES / "plain_md5.txt", "none")
    assert _grades(library, "none") == {"none": 14}
    with pytest.raises(UsageError, match="grade 'Q' is not in scheme"):
        library.import_file(FIXTURES / "plain_md5.txt", "bad", scheme="uk", grade="Q")
    with pytest.raises(UsageError, match="carries no categories"):
        library.import_file(FIXTURES / "plain_md5.txt", "bad", category_map="1=1")
    with pytest.raises(UsageError, match="unknown grading scheme 'cop'"):
        library.import_file(FIXTURES / "plain_md5.txt", "bad", scheme="cop")


@pytest.mark.parametrize(
    ("filename", "known_good"),
    [
        ("nsrl_rdsv3_minimal_sample.db", True),
        ("NSRLFile.txt", True),
        ("encase_known.hash", True),
        ("encase_notable.hash", False),
        ("xways_known_md5.txt", False),
        ("plain_md5.txt", False),
    ],
)
def test_known_good_default(library: HashSetLibrary, filename: str, known_good: bool) -> None:
    assert library.import_file(FIXTURES / filename, "s").known_good is known_good
    assert library.get("s").known_good is known_good


def test_known_good_explicit(library: HashSetLibrary) -> None:
    assert library.import_file(FIXTURES / "xways_known_md5.txt", "x", known_good=True).known_good
    nsrl = FIXTURES / "NSRLFile.txt"
    assert not library.import_file(nsrl, "n", known_good=False).known_good


def test_progress_reports_records_read(library: HashSetLibrary) -> None:
    seen: list[int] = []
    library.import_file(VICS, "pv", progress=seen.append)
    assert seen[-1] == 14


def test_entries_with_pdq(library: HashSetLibrary, tmp_path: Path) -> None:
    pdq = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
    document = {
        "@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/"
        "Default/$metadata#Media",
        "value": [
            {"MD5": "d41d8cd98f00b204e9800998ecf8427e", "Category": 1},
            {
                "MD5": "1b580e4381e86a362d05fb05e0129889",
                "Category": "4",
                "AlternativeHashes": [{"HashName": "Pdq", "HashValue": pdq.upper()}],
            },
        ],
    }
    path = tmp_path / "pdq.json"
    path.write_text(json.dumps(document))
    library.import_file(path, "withpdq")
    library.import_file(FIXTURES / "plain_md5.txt", "nopdq")
    rows = list(library.entries_with_pdq(None))
    assert len(rows) == 1
    entry_id, name, value, grade = rows[0]
    assert (name, value, grade) == ("withpdq", pdq, "4")
    assert list(library.entries_with_pdq(["nopdq"])) == []
    with pytest.raises(UsageError, match="no hash set named 'gone'"):
        list(library.entries_with_pdq(["gone"]))


def test_default_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VIGIL_HOME", str(tmp_path / "vh"))
    assert default_home() == tmp_path / "vh"
    monkeypatch.delenv("VIGIL_HOME")
    assert default_home() == Path.home() / ".local" / "share" / "vigil"


def test_schemes_are_data() -> None:
    uk = load_scheme("uk")
    assert uk.codes() == ["A", "B", "C", "N"]
    assert [g.indecent for g in uk.grades] == [True, True, True, False]
    projectvic = load_scheme("projectvic")
    assert projectvic.codes() == ["1", "2", "3", "4", "0"]  # most severe first
    assert [g.indecent for g in projectvic.grades] == [True, False, False, False, False]
    assert projectvic.grade("1").label == "Child Abuse Material"


def test_parse_category_map() -> None:
    uk = load_scheme("uk")
    assert parse_category_map(" 1=A, 2=B,3=C ,0=none", uk) == {
        "1": "A",
        "2": "B",
        "3": "C",
        "0": None,
    }
    for bad, message in [
        ("1=A,1=B", "twice"),
        ("1", "is not 'category=grade'"),
        ("=A", "is not 'category=grade'"),
        ("", "empty"),
        ("1=Z", "grade 'Z' is not in scheme 'uk'"),
    ]:
        with pytest.raises(UsageError, match=message):
            parse_category_map(bad, uk)
