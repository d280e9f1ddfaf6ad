"""The columnar PDQ list reader gives exactly the reference reader's records."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from vigil.errors import HashSetFormatError
from vigil.hashsets.entry import HashEntry, Malformed, Truncated
from vigil.hashsets.formats import pdq, pdq_columns
from vigil.hashsets.formats.pdq_columns import read_columns


def _hash(i: int) -> str:
    return hashlib.sha256(f"benign picture {i}".encode()).hexdigest()


def _reference(path: Path) -> tuple[list[tuple[int, str, str | None]], list[Malformed], object]:
    entries, bad, cut = [], [], None
    for item in pdq.read(path):
        if isinstance(item, HashEntry):
            entries.append((item.record, item.pdq, item.category))
        elif isinstance(item, Malformed):
            bad.append(item)
        else:
            cut = item
    return entries, bad, cut


def _columns(path: Path) -> tuple[list[tuple[int, str, str | None]], list[Malformed], object]:
    found = read_columns(path, samples=1000)
    entries = [
        (int(record), bytes(code).hex(), found.categories[int(category)])
        for record, code, category in zip(
            found.records, found.codes, found.category_codes, strict=True
        )
    ]
    assert found.malformed_count == len(found.malformed)
    return entries, found.malformed, found.truncated


LINES = [
    _hash(1),
    f"{_hash(2)},1",
    f"{_hash(3).upper()}\tA",
    "# a comment",
    "",
    f"  {_hash(4)} ,2 ",
    f"{_hash(5)},a-category-longer-than-eight",
    "not-a-hash,2",
    f"{_hash(6)}, ,3",
    f"{_hash(7)}zz",
    f"{_hash(8)},",
    "caf\xe9 " + _hash(9)[:20],
    f"{_hash(10)} 1 2",
    f"{_hash(11)},,B",
]


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("bom", [False, True])
def test_columns_equal_the_reference_records(tmp_path: Path, ending: str, bom: bool) -> None:
    path = tmp_path / "bank.pdq"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + ending.join(LINES).encode() + b"\n")
    expected = _reference(path)
    assert len(expected[0]) == 9 and len(expected[1]) == 3
    assert _columns(path) == expected


def test_small_blocks_keep_line_numbers_and_order(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    lines = [f"{_hash(i)},{i % 4}" if i % 7 else f" {_hash(i)}" for i in range(1, 400)]
    lines[150] = "bad line"
    path = tmp_path / "bank.pdq"
    path.write_text("\r\n".join(lines) + "\r\n")
    monkeypatch.setattr(pdq_columns, "_BLOCK", 1000)
    assert _columns(path) == _reference(path)


def test_cut_last_line_is_truncated_not_malformed(tmp_path: Path) -> None:
    path = tmp_path / "cut.pdq"
    path.write_text(f"{_hash(1)}\nbad\n{_hash(2)}\n{_hash(3)[:20]}")
    entries, bad, cut = _columns(path)
    assert (entries, bad, cut) == _reference(path)
    reason = f"the file ends mid-line: PDQ {_hash(3)[:20]!r} is not 64 hex digits"
    assert cut == Truncated(4, reason)
    assert bad == [Malformed(2, "PDQ 'bad' is not 64 hex digits")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"# header\n\nnot a hash\n{_hash(1)}\n", "line 3: not a PDQ list"),
        ("# only comments\n\n", "no PDQ hash lines found"),
        ("", "no PDQ hash lines found"),
    ],
)
def test_not_a_pdq_list(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "x.pdq"
    path.write_text(text)
    for read in (lambda p: list(pdq.read(p)), read_columns):
        with pytest.raises(HashSetFormatError, match=message):
            read(path)


def test_categories_are_coded_once(tmp_path: Path) -> None:
    path = tmp_path / "bank.pdq"
    path.write_text("".join(f"{_hash(i)},{'AB'[i % 2]}\n" for i in range(10)) + _hash(10) + "\n")
    found = read_columns(path)
    assert found.categories == [None, "A", "B"]
    assert found.category_codes.tolist() == [1, 2] * 5 + [0]
    assert found.records.tolist() == list(range(1, 12))
    assert found.codes[3].tobytes().hex() == _hash(3)
    assert found.codes.dtype == np.uint8 and found.codes.shape == (11, 32)
