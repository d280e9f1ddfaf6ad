"""VICS JSON quirks: BOM, string booleans, PhotoDNA, PDQ, Cases and 1.x forms, bad records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vigil.errors import HashSetFormatError
from vigil.hashsets.entry import HashEntry, Malformed, Truncated
from vigil.hashsets.formats import vics

from .conftest import FIXTURES

CONTEXT_20 = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/UK/$metadata#Media"
PDQ = "F8F8F0CEE0F4A84F06370A22038F63F0B36E2ED596621E1D33E6B39C4E9C9B22"
PHOTODNA = "AAECAwQFBgcICQ==,opaque/value+as-found"


def _write(path: Path, document: object, bom: bool = True) -> Path:
    data = json.dumps(document, indent=1).encode("utf-8")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def _media(md5: str, **fields: object) -> dict[str, object]:
    return {"MediaID": 1, "Category": 1, "MD5": md5, **fields}


def test_bom_string_booleans_photodna_and_pdq(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "set.json",
        {
            "@odata.context": CONTEXT_20,
            "value": [
                _media(
                    "D41D8CD98F00B204E9800998ECF8427E",
                    SHA1="DA39A3EE5E6B4B0D3255BFEF95601890AFD80709",
                    MediaSize="0",
                    IsPrecategorized="true",
                    VictimIdentified="false",
                    PhotoDNA=PHOTODNA,
                    AlternativeHashes=[{"HashName": "pdq", "HashValue": PDQ}],
                ),
                _media(
                    "1B580E4381E86A362D05FB05E0129889",
                    Category="2",
                    AlternativeHashes=[
                        {"HashName": "PhotoDNA", "HashValue": PHOTODNA},
                        {"HashName": "PDQ", "HashValue": PDQ.lower()},
                    ],
                ),
            ],
        },
    )
    assert vics.sniff(path.read_bytes()[:4096], path)
    first, second = list(vics.read(path))
    assert first == HashEntry(
        md5="d41d8cd98f00b204e9800998ecf8427e",
        sha1="da39a3ee5e6b4b0d3255bfef95601890afd80709",
        sha256=None,
        size=0,
        category="1",
        photodna=PHOTODNA,
        pdq=PDQ.lower(),
        record=1,
    )
    assert second.category == "2"
    assert second.photodna == PHOTODNA
    assert second.pdq == PDQ.lower()


def test_cases_form_reads_media_of_every_case() -> None:
    records = list(vics.read(FIXTURES / "vics_2.0_case.json"))
    assert len(records) == 14
    assert [r.record for r in records] == list(range(1, 15))
    assert records[0].name == "passwords.txt"
    assert {r.category for r in records} == {"3", "0"}


def test_cases_form_across_several_cases(tmp_path: Path) -> None:
    context = CONTEXT_20.replace("#Media", "#Cases")
    path = _write(
        tmp_path / "cases.json",
        {
            "@odata.context": context,
            "value": [
                {"CaseID": "a", "Media": [_media("d41d8cd98f00b204e9800998ecf8427e")]},
                {"CaseID": "b", "TotalMediaFiles": "1", "Media": []},
                {"CaseID": "c", "Media": [_media("1b580e4381e86a362d05fb05e0129889")]},
            ],
        },
    )
    assert [r.md5 for r in vics.read(path)] == [
        "d41d8cd98f00b204e9800998ecf8427e",
        "1b580e4381e86a362d05fb05e0129889",
    ]


def test_version_1_3_form() -> None:
    records = list(vics.read(FIXTURES / "vics_1.3_media.json"))
    assert len(records) == 14
    assert records[0] == HashEntry(
        md5="39cb097008d17660abd0539891a672af",
        sha1="677bc4ec72665fabac0bc91cd4e423a535a0cae4",
        sha256=None,
        size=116,
        category="3",
        record=1,
    )
    assert [r.category for r in records].count("0") == 3


def test_malformed_records_are_counted_with_their_index(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "bad.json",
        {
            "odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.2.xml#Media",
            "value": [
                _media("d41d8cd98f00b204e9800998ecf8427e"),
                _media("NOTAHASH"),
                "a string",
                {"MediaID": 4, "Category": 1},
                _media("1b580e4381e86a362d05fb05e0129889", MediaSize="big"),
                _media(
                    "baa33786d1aa2f0d1987aa5f33e45c95",
                    AlternativeHashes=[{"HashName": "PDQ", "HashValue": "1234"}],
                ),
                _media("85bebf486af24792085f769afa46717d", MediaFiles=[{"FileName": "a_file"}]),
            ],
        },
        bom=False,
    )
    records = list(vics.read(path))
    assert [type(r).__name__ for r in records] == [
        "HashEntry",
        "Malformed",
        "Malformed",
        "Malformed",
        "Malformed",
        "Malformed",
        "HashEntry",
    ]
    assert records[1] == Malformed(2, "MD5 'NOTAHASH' is not 32 hex digits")
    assert records[2] == Malformed(3, "Media record is a string, not an object")
    assert records[3] == Malformed(4, "Media record has no MD5, SHA1 or SHA256")
    assert records[4] == Malformed(5, "MediaSize 'big' is not an integer")
    assert records[5] == Malformed(6, "PDQ '1234' is not 64 hex digits")
    assert records[6].name == "a_file" and records[6].record == 7


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"foo": [1, 2]}', "not VICS"),
        (
            b'{"value": [{"MD5": "d41d8cd98f00b204e9800998ecf8427e"}], "@odata.context": "x"}',
            "before 'value'",
        ),
        (
            b'{"@odata.context": "http://example.org/odata/$metadata#People", "value": []}',
            "not a Project VIC data model",
        ),
        (b"[1, 2, 3]", "not an object"),
        (b"39cb097008d17660abd0539891a672af  passwords.txt\n", "not an object"),
        (b'{"id": 1, "na', "broken JSON before the OData context"),
    ],
)
def test_non_vics_input_is_rejected(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "input.json"
    path.write_bytes(content)
    with pytest.raises(HashSetFormatError, match=message):
        list(vics.read(path))


def test_truncated_file_keeps_the_good_records(tmp_path: Path) -> None:
    whole = (FIXTURES / "vics_2.0_media.json").read_bytes()
    path = tmp_path / "cut.json"
    path.write_bytes(whole[: len(whole) // 2])
    records = list(vics.read(path))
    assert [type(r) for r in records] == [HashEntry] * 6 + [Truncated]
    assert records[-1].record == 7
    assert records[-1].reason.startswith("broken JSON after 6 complete Media records: ")


def test_broken_right_after_the_context_is_truncated_at_record_1(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_bytes(b'{"@odata.context": "' + CONTEXT_20.encode() + b'", "value": [{"MD5": "d4')
    [cut] = list(vics.read(path))
    assert isinstance(cut, Truncated) and cut.record == 1
    assert cut.reason.startswith("broken JSON after 0 complete Media records")


def test_records_of_every_json_kind_are_named_as_the_parser_calls_them(tmp_path: Path) -> None:
    md5 = "85bebf486af24792085f769afa46717d"
    path = _write(
        tmp_path / "kinds.json",
        {"@odata.context": CONTEXT_20, "value": [7, 2.5, None, True, [md5], _media(md5)]},
    )
    assert list(vics.read(path)) == [
        Malformed(1, "Media record is a number, not an object"),
        Malformed(2, "Media record is a number, not an object"),
        Malformed(3, "Media record is a null, not an object"),
        Malformed(4, "Media record is a boolean, not an object"),
        Malformed(5, "Media record is a list, not an object"),
        HashEntry(md5=md5, sha1=None, sha256=None, category="1", record=6),
    ]


def test_cut_between_records_counts_the_complete_ones(tmp_path: Path) -> None:
    md5 = "85bebf486af24792085f769afa46717d"
    whole = json.dumps({"@odata.context": CONTEXT_20, "value": [_media(md5)] * 3})
    path = tmp_path / "cut.json"
    path.write_text(whole[: whole.rindex("}, {") + 3])
    records = list(vics.read(path))
    assert [type(r).__name__ for r in records] == ["HashEntry", "HashEntry", "Truncated"]
    assert records[-1].record == 3
    assert records[-1].reason.startswith("broken JSON after 2 complete Media records: ")
