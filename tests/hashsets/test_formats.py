"""Every shared fixture imports with exactly the entries the manifest lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.errors import HashSetFormatError
from vigil.hashsets import formats
from vigil.hashsets.entry import HashEntry, Malformed, Truncated, normalize_hex
from vigil.hashsets.formats import encase, nsrl_v3

from .conftest import FIXTURE_FILES, expected_rows


def test_every_fixture_file_is_covered(fixtures_dir: Path) -> None:
    on_disk = {p.name for p in fixtures_dir.iterdir()} - {"README.md", "expected_manifest.json"}
    assert on_disk == set(FIXTURE_FILES)


@pytest.mark.parametrize("filename", sorted(FIXTURE_FILES))
def test_fixture_reads_exactly_the_manifest(fixtures_dir: Path, filename: str) -> None:
    fmt, group, fields = FIXTURE_FILES[filename]
    records = list(formats.get(fmt).read(fixtures_dir / filename))
    assert not [r for r in records if isinstance(r, Malformed)]
    rows = [(r.md5, r.sha1, r.sha256, r.size) for r in records]
    assert len(rows) == (5 if group == "known" else 14)
    assert set(rows) == expected_rows(group, fields)
    assert all(r.record >= 1 for r in records)


@pytest.mark.parametrize("filename", sorted(FIXTURE_FILES))
def test_detect_names_the_format(fixtures_dir: Path, filename: str) -> None:
    assert formats.detect(fixtures_dir / filename) == FIXTURE_FILES[filename][0]


def test_names_are_carried_where_the_format_has_them(fixtures_dir: Path) -> None:
    md5sum = {r.md5: r.name for r in formats.get("md5sum").read(fixtures_dir / "md5sum_style.md5")}
    assert md5sum["39cb097008d17660abd0539891a672af"] == "passwords.txt"
    hashdeep = list(formats.get("hashdeep").read(fixtures_dir / "notable.hashdeep"))
    assert hashdeep[0].name == "data7z.bin" and hashdeep[0].record == 6
    nsrl = {r.md5: r.name for r in nsrl_v3.read(fixtures_dir / "nsrl_rdsv3_minimal_sample.db")}
    assert nsrl["d41d8cd98f00b204e9800998ecf8427e"] == "empty.txt"


def test_nsrl_v3_deduplicates_hash_repeated_per_package(fixtures_dir: Path) -> None:
    records = list(nsrl_v3.read(fixtures_dir / "nsrl_rdsv3_minimal_sample.db"))
    a_file = [r for r in records if r.md5 == "85bebf486af24792085f769afa46717d"]
    assert len(a_file) == 1 and a_file[0].name == "a_file" and a_file[0].size == 53


def test_nsrl_v3_header_reads_version(fixtures_dir: Path) -> None:
    header = nsrl_v3.header(fixtures_dir / "nsrl_rdsv3_minimal_sample.db")
    assert header["version"] == "2099.01.1"
    assert header["build_set"] == "modern minimal (SYNTHETIC FIXTURE)"


def test_nsrl_v2_skips_adjacent_repeats(tmp_path: Path, fixtures_dir: Path) -> None:
    lines = (fixtures_dir / "NSRLFile.txt").read_bytes().split(b"\r\n")
    doubled = b"\r\n".join([lines[0], lines[1], lines[1].replace(b",100,", b",101,"), *lines[2:]])
    path = tmp_path / "NSRLFile.txt"
    path.write_bytes(doubled)
    assert len(list(formats.get("nsrl_v2").read(path))) == 5


@pytest.mark.parametrize(
    ("filename", "set_name", "category", "count"),
    [
        ("encase_notable.hash", "Fixture Notable Set", "Notable", 14),
        ("encase_known.hash", "Fixture Known Set", "Known", 5),
    ],
)
def test_encase_header(
    fixtures_dir: Path, filename: str, set_name: str, category: str, count: int
) -> None:
    assert encase.header(fixtures_dir / filename) == {
        "set_name": set_name,
        "category": category,
        "declared_entries": count,
    }


def test_encase_truncated_record_is_truncated(tmp_path: Path, fixtures_dir: Path) -> None:
    path = tmp_path / "cut.hash"
    path.write_bytes((fixtures_dir / "encase_known.hash").read_bytes()[:-7])
    records = list(encase.read(path))
    assert [type(r) for r in records] == [HashEntry] * 4 + [Truncated]
    assert records[-1] == Truncated(5, "the file ends inside record 5: 11 of 18 bytes")


def test_plain_list_comments_blank_lines_crlf_and_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_bytes(
        b"\xef\xbb\xbf# comment\r\n\r\n"
        b"D41D8CD98F00B204E9800998ECF8427E\r\n"
        b"not-a-hash\r\n"
        b"da39a3ee5e6b4b0d3255bfef95601890afd80709  \r\n"
        b"abc\r\n"
    )
    records = list(formats.get("plain").read(path))
    assert records[0] == HashEntry("d41d8cd98f00b204e9800998ecf8427e", None, None, record=3)
    assert isinstance(records[1], Malformed) and records[1].record == 4
    assert "not-a-hash" in records[1].reason
    assert records[2].sha1 == "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    assert records[3] == Malformed(6, "'abc' is not an MD5, SHA-1 or SHA-256 hex digest")


def test_plain_never_fills_pdq(fixtures_dir: Path) -> None:
    records = list(formats.get("plain").read(fixtures_dir / "plain_sha256.txt"))
    assert all(r.pdq is None and r.sha256 for r in records)


def test_hashdeep_filename_with_commas_and_bad_size(tmp_path: Path) -> None:
    path = tmp_path / "a.hashdeep"
    path.write_text(
        "%%%% HASHDEEP-1.0\n%%%% size,md5,filename\n## comment\n"
        "3,d41d8cd98f00b204e9800998ecf8427e,dir/a, b, c.txt\n"
        "x,d41d8cd98f00b204e9800998ecf8427e,bad.txt\n"
    )
    records = list(formats.get("hashdeep").read(path))
    assert records[0].name == "dir/a, b, c.txt" and records[0].size == 3
    assert records[1] == Malformed(5, "size 'x' is not an integer")


def test_xways_bad_line_is_malformed(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_bytes(b"SHA-1\r\n677bc4ec72665fabac0bc91cd4e423a535a0cae4\r\n39cb0970\r\n")
    records = list(formats.get("xways").read(path))
    assert records[0].sha1 == "677bc4ec72665fabac0bc91cd4e423a535a0cae4"
    assert records[1] == Malformed(3, "SHA1 '39cb0970' is not 40 hex digits")


def test_normalize_hex_quotes_bad_value() -> None:
    assert normalize_hex(" ABCDEF0123456789ABCDEF0123456789 ", "md5") == (
        "abcdef0123456789abcdef0123456789"
    )
    with pytest.raises(ValueError, match="'xyz' is not 32 hex digits"):
        normalize_hex("xyz", "md5")
    with pytest.raises(ValueError, match="is not a string"):
        normalize_hex(5, "sha1")


def test_detect_rejects_unknown_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("just some words\n")
    with pytest.raises(HashSetFormatError, match="format not recognised"):
        formats.detect(path)


def test_registering_a_name_twice_is_an_error() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        formats.register(formats.FORMATS["plain"])


def test_unknown_format_name() -> None:
    with pytest.raises(HashSetFormatError, match="unknown hash-set format 'nope'"):
        formats.get("nope")


def test_detect_tolerates_a_few_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_text("d41d8cd98f00b204e9800998ecf8427e\nbroken\n1b580e4381e86a362d05fb05e0129889\n")
    assert formats.detect(path) == "plain"
    path.write_text("broken\nd41d8cd98f00b204e9800998ecf8427e\n")
    with pytest.raises(HashSetFormatError):
        formats.detect(path)
