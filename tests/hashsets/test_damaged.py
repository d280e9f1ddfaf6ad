"""Damaged hash-set files: the intact records are imported, with a record of where it broke.

Every line format cut mid-line, a VICS file cut after 40 good records, a malformed line
in the middle; the set is marked partial in ``hashset list`` (table and ``--json``).
A failure that leaves nothing intact, or one during the import, changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from tests_support import InProcessVigil
from vigil.errors import HashSetFormatError
from vigil.hashsets.entry import Truncated
from vigil.hashsets.formats import hashdeep
from vigil.hashsets.library import HashSetLibrary

CONTEXT = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media"


def _md5(i: int) -> str:
    return hashlib.md5(f"benign record {i}".encode()).hexdigest()


def _sha1(i: int) -> str:
    return hashlib.sha1(f"benign record {i}".encode()).hexdigest()


def _vics(n: int) -> bytes:
    media = [{"MediaID": i, "Category": 1, "MD5": _md5(i), "MediaSize": 100 + i}
             for i in range(1, n + 1)]
    return json.dumps({"@odata.context": CONTEXT, "value": media}, indent=1).encode()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


def _entries(library: HashSetLibrary) -> list[tuple[int, str]]:
    # A VICS set is a block (its entries are hash arrays, not rows): read through the library.
    found = [entry for info in library.list() for _id, entry, _grade in library.entries(info.name)]
    return [(entry.record, entry.md5) for entry in found]


def test_vics_cut_after_40_good_records(home: Path, tmp_path: Path) -> None:
    whole = _vics(60)
    cut_at = whole.index(b'"MediaID": 41') + 20  # inside record 41
    path = tmp_path / "cut.json"
    path.write_bytes(whole[:cut_at])
    vigil = InProcessVigil(home)
    imported = json.loads(vigil("hashset", "import", str(path), "--name", "pv", "--json"))
    assert (imported["entries"], imported["malformed"], imported["partial"]) == (40, 0, True)
    assert imported["truncated"]["record"] == 41
    reason = imported["truncated"]["reason"]
    assert reason.startswith("broken JSON after 40 complete Media records: ")
    assert _entries(HashSetLibrary(home)) == [(i, _md5(i)) for i in range(1, 41)]
    [listed] = json.loads(vigil("hashset", "list", "--json"))
    assert (listed["entries"], listed["partial"]) == (40, True)
    assert listed["damage"] == {"truncated": {"record": 41, "reason": reason}, "malformed": []}
    table = vigil("hashset", "list")
    assert table.splitlines()[-1] == f"pv: partial, file cut at record 41 ({reason})"


def _lines(fmt: str, n: int) -> list[str]:
    if fmt == "md5sum":
        return [f"{_md5(i)}  file{i}.jpg" for i in range(1, n + 1)]
    if fmt == "plain":
        return [_md5(i) for i in range(1, n + 1)]
    if fmt == "xways":
        return ["MD5", *(_md5(i) for i in range(1, n))]
    if fmt == "pdq":
        return [hashlib.sha256(f"{i}".encode()).hexdigest() + ",1" for i in range(1, n + 1)]
    if fmt == "hashdeep":
        return ["%%%% HASHDEEP-1.0", "%%%% size,md5,filename",
                *(f"{i},{_md5(i)},/e/file{i}.jpg" for i in range(1, n - 1))]
    assert fmt == "nsrl_v2"
    return ['"SHA-1","MD5","CRC32","FileName","FileSize","ProductCode","OpSystemCode",'
            '"SpecialCode"',
            *(f'"{_sha1(i).upper()}","{_md5(i).upper()}","00000000","f{i}",{i},1,"1",""'
              for i in range(1, n))]


# Each line format, 6 lines in all, the last cut inside its hash.
CUT = ["md5sum", "plain", "xways", "pdq", "hashdeep", "nsrl_v2"]


@pytest.mark.parametrize("fmt", CUT)
def test_line_file_cut_mid_line_keeps_the_lines_before(fmt: str, tmp_path: Path) -> None:
    lines = _lines(fmt, 6)
    header = {"xways": 1, "hashdeep": 2, "nsrl_v2": 1}.get(fmt, 0)
    last = lines[-1]
    cut = last[: last.index(",") + 9] if fmt in ("hashdeep", "nsrl_v2") else last[:20]
    path = tmp_path / f"cut.{fmt}"
    path.write_text("\n".join([*lines[:-1], cut]), encoding="utf-8")  # no final line end
    library = HashSetLibrary(tmp_path / "home")
    result = library.import_file(path, "cut", fmt=fmt)
    assert (result.entries, result.malformed) == (5 - header, 0)
    assert result.truncated is not None and result.truncated.record == 6
    assert result.truncated.reason.startswith("the file ends mid-line: ")
    info = library.get("cut")
    assert info.partial and info.damage["truncated"]["record"] == 6
    # The same file whole (with its line end) imports intact.
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    again = library.import_file(path, "whole", fmt=fmt)
    assert (again.entries, again.truncated, again.partial) == (6 - header, None, False)
    assert library.get("whole").partial is False and library.get("whole").damage == {}


def test_hashdeep_cut_inside_the_hash_names_the_line(tmp_path: Path) -> None:
    lines = _lines("hashdeep", 6)
    path = tmp_path / "cut.hashdeep"
    path.write_text("\n".join([*lines[:-1], lines[-1][:12]]), encoding="utf-8")
    records = list(hashdeep.read(path))
    assert records[-1] == Truncated(
        6, "the file ends mid-line: 2 fields where the header declares 3"
    )


def test_malformed_line_in_the_middle_marks_the_set_partial(home: Path, tmp_path: Path) -> None:
    lines = _lines("md5sum", 5)
    lines[2] = "not-a-hash  file3.jpg"
    path = tmp_path / "bad.md5"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    vigil = InProcessVigil(home)
    vigil("hashset", "import", str(path), "--name", "m", "--format", "md5sum")
    [listed] = json.loads(vigil("hashset", "list", "--json"))
    assert (listed["entries"], listed["malformed"], listed["partial"]) == (4, 1, True)
    assert listed["damage"] == {
        "truncated": None,
        "malformed": [{"record": 3, "reason": "'not-a-hash  file3.jpg' is not '<hash>  <name>'"}],
    }
    assert vigil("hashset", "list").splitlines()[-1] == "m: partial, 1 malformed records"


def test_nothing_half_imported_when_the_import_fails(tmp_path: Path) -> None:
    library = HashSetLibrary(tmp_path / "home")
    path = tmp_path / "big.txt"
    path.write_text("".join(f"{_md5(i)}\n" for i in range(25_000)))

    def stop(records: int) -> None:
        raise RuntimeError(f"stopped after {records} records")

    with pytest.raises(RuntimeError, match="stopped after 10000 records"):
        library.import_file(path, "big", progress=stop)  # 10 000 entries already inserted
    assert library.list() == [] and _entries(library) == []
    cut = tmp_path / "cut.json"
    cut.write_bytes(_vics(3)[:120])  # breaks inside record 1: nothing intact
    with pytest.raises(HashSetFormatError, match="nothing intact to import: at record 1"):
        library.import_file(cut, "cut")
    assert library.list() == [] and _entries(library) == []
    assert library.import_file(path, "big").entries == 25_000


def test_library_of_schema_2_gains_the_damage_column(tmp_path: Path) -> None:
    home = tmp_path / "home"
    HashSetLibrary(home).import_file(_plain(tmp_path), "old")
    with sqlite3.connect(home / "library.sqlite") as conn:
        conn.execute("ALTER TABLE hashset DROP COLUMN damage")
        conn.execute("PRAGMA user_version = 2")
    [info] = HashSetLibrary(home).list()
    assert (info.name, info.partial, info.damage) == ("old", False, {})


def _plain(folder: Path) -> Path:
    path = folder / "plain.txt"
    path.write_text(f"{_md5(1)}\n{_md5(2)}\n")
    return path
