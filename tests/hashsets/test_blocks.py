"""PDQ lists imported as blocks: entries in the index file, ids shared with row sets."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from vigil.errors import StoreError, UsageError
from vigil.hashsets.library import HashSetLibrary
from vigil.matching.pdq_bank import index_path
from vigil.matching.pdq_index import PdqIndex

from .conftest import FIXTURES


def _hash(i: int) -> str:
    return hashlib.sha256(f"benign picture {i}".encode()).hexdigest()


def _rows(library: HashSetLibrary, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(library.path) as connection:
        return connection.execute(sql).fetchall()


def _bank(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_block_entries_live_in_the_index_file(tmp_path: Path) -> None:
    library = HashSetLibrary(tmp_path / "home")
    library.import_file(FIXTURES / "plain_md5.txt", "rows")
    row_ids = [i for (i,) in _rows(library, "SELECT id FROM entry ORDER BY id")]
    lines = ["# benign", f"{_hash(1)},1", "bad line", f"{_hash(2)},2", f"{_hash(3)}"]
    result = library.import_file(
        _bank(tmp_path, "a.pdq", lines), "bank", fmt="pdq", scheme="uk", category_map="1=A,2=B"
    )
    assert (result.entries, result.malformed, result.unmapped) == (3, 1, 0)
    assert result.malformed_samples[0].record == 3
    info = library.get("bank")
    assert info.categories == {"source": {"1": 1, "2": 1, "none": 1},
                               "grade": {"A": 1, "B": 1, "none": 1}}
    assert _rows(library, f"SELECT count(*) FROM entry WHERE hashset_id = {info.id}") == [(0,)]
    first = max(row_ids) + 1
    assert _rows(library, "SELECT hashset_id, first_id, count FROM entry_block") == [
        (info.id, first, 3)
    ]
    index = PdqIndex.load(index_path(library.home, info.id))
    by_id = {
        int(entry): (index.codes[row].tobytes().hex(), int(index.extras["record"][row]),
                     index.meta["categories"][int(index.extras["category"][row])])
        for row, entry in enumerate(index.ids)
    }
    assert by_id == {first: (_hash(1), 2, "1"), first + 1: (_hash(2), 4, "2"),
                     first + 2: (_hash(3), 5, None)}
    assert list(library.entries_with_pdq()) == [
        (first, "bank", _hash(1), "A"), (first + 1, "bank", _hash(2), "B"),
        (first + 2, "bank", _hash(3), None),
    ]
    # A row set imported after the block never reuses the block's ids.
    library.import_file(FIXTURES / "plain_md5.txt", "rows2")
    later = _rows(library, f"SELECT min(id) FROM entry WHERE hashset_id = {info.id + 1}")
    assert later == [(first + 3,)]


def test_suppress_and_remove_a_block_set(tmp_path: Path) -> None:
    library = HashSetLibrary(tmp_path / "home")
    library.import_file(_bank(tmp_path, "a.pdq", [_hash(1), _hash(2)]), "bank", fmt="pdq")
    library.import_file(_bank(tmp_path, "b.pdq", [_hash(3)]), "other", fmt="pdq")
    library.suppress("bank", 2, "flat picture")
    with pytest.raises(UsageError, match="has no entry 3"):
        library.suppress("bank", 3, "belongs to the other set")
    library.suppress("other", 3, "template")
    assert [e for e, *_ in library.entries_with_pdq()] == [1]
    path = index_path(library.home, library.get("bank").id)
    library.remove("bank")
    assert not path.exists()
    assert library.suppressed() == {3: "template"}
    assert _rows(library, "SELECT hashset_id FROM entry_block") == [(library.get("other").id,)]
    assert [e for e, *_ in library.entries_with_pdq()] == []


def test_lost_index_of_a_block_set(tmp_path: Path) -> None:
    library = HashSetLibrary(tmp_path / "home")
    source = _bank(tmp_path, "a.pdq", [f"{_hash(1)},1", f"{_hash(2)},2"])
    library.import_file(source, "bank", fmt="pdq", scheme="uk", category_map="1=A,2=B")
    path = index_path(library.home, library.get("bank").id)
    # Rebuilt from the unchanged source file, with the same ids and grades.
    path.unlink()
    assert list(library.entries_with_pdq()) == [(1, "bank", _hash(1), "A"),
                                                (2, "bank", _hash(2), "B")]
    # With the source changed, nothing can restore it: said plainly, never an empty bank.
    path.unlink()
    source.write_text(f"{_hash(5)}\n")
    with pytest.raises(StoreError, match="source file is gone or changed"):
        list(library.entries_with_pdq())
