"""A RAR 5.0 archive written by ``benchmarks/rar5_write.py`` (stored members), read back.

50 generated members (landscape PNGs and JPEGs, text) in nested folders: bsdtar lists
exactly the names written and gives back the same bytes, 7-Zip finds every header and
data CRC32 right, and ``vigil scan`` records exactly those members with their MD5s.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
from pathlib import Path

import libarchive

from documents_corpus.build_documents import encoded
from tests_support import InProcessVigil, load_benchmark

rar5_write = load_benchmark("rar5_write")

FOLDERS = ["holiday", "holiday/2024", "holiday/2024/coast walk", "notes", "notes/été"]


def members() -> dict[str, bytes]:
    """50 benign members: 20 PNG and 20 JPEG landscapes, 10 texts, spread over FOLDERS."""
    found: dict[str, bytes] = {}
    for i in range(40):
        folder = FOLDERS[i % 3]
        if i % 2:
            found[f"{folder}/IMG_{i:04d}.png"] = encoded(100 + i, "PNG", (48 + i, 40))
        else:
            found[f"{folder}/IMG_{i:04d}.jpg"] = encoded(100 + i, "JPEG", (64, 40 + i))
    for i in range(10):
        found[f"{FOLDERS[3 + i % 2]}/note {i}.txt"] = f"shopping list {i}\n".encode() * (i + 1)
    return found


def write(path: Path, files: dict[str, bytes]) -> None:
    with path.open("wb") as out, rar5_write.Rar5Writer(out) as rar:
        for folder in FOLDERS:
            rar.add_dir(folder, mtime=1_700_000_000)
        for name, data in files.items():
            rar.add_bytes(name, data, mtime=1_700_000_000)


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_vint_and_header_bytes() -> None:
    assert [rar5_write.vint(v) for v in (0, 127, 128, 300, 2**64 - 1)] == [
        b"\x00", b"\x7f", b"\x80\x01", b"\xac\x02", b"\xff" * 9 + b"\x01"]

def test_archive_ends_as_one_written_by_rar(shared: Path, tmp_path: Path) -> None:
    """The end of archive header is byte for byte the one of a real RAR 5 archive."""
    rar = tmp_path / "one.rar"
    write(rar, {"a.txt": b"a"})
    real = shared / "fixtures" / "archives" / "rar5-subdirs.rar"
    assert rar.read_bytes()[-8:] == real.read_bytes()[-8:]
    assert rar.read_bytes()[:8] == real.read_bytes()[:8] == rar5_write.SIGNATURE


def test_written_rar_reads_back_in_bsdtar_libarchive_and_7zip(tmp_path: Path) -> None:
    files = members()
    rar = tmp_path / "pictures.rar"
    write(rar, files)
    listed = subprocess.run(["bsdtar", "-tf", str(rar)], capture_output=True, text=True,
                            check=True).stdout.splitlines()
    assert listed == FOLDERS + list(files)
    for name in ("holiday/2024/coast walk/IMG_0002.jpg", "notes/été/note 9.txt"):
        out = subprocess.run(["bsdtar", "-xOf", str(rar), name], capture_output=True, check=True)
        assert out.stdout == files[name]
    with libarchive.file_reader(str(rar)) as archive:
        read = {e.pathname: b"".join(e.get_blocks()) for e in archive if e.isfile}
    assert read == files
    tested = subprocess.run(["7z", "t", str(rar)], capture_output=True, text=True)
    assert tested.returncode == 0 and "Everything is Ok" in tested.stdout, tested.stdout
    assert f"Files: {len(files)}" in tested.stdout and f"Folders: {len(FOLDERS)}" in tested.stdout


def test_a_wrong_data_crc_is_caught_by_7zip(tmp_path: Path) -> None:
    """The data CRC32 in the header is checked by 7-Zip (libarchive skips it when stored)."""
    rar = tmp_path / "bad.rar"
    write(rar, {"a.txt": b"ABCDEFGH"})
    data = bytearray(rar.read_bytes())
    data[data.index(b"ABCDEFGH")] ^= 1
    rar.write_bytes(data)
    tested = subprocess.run(["7z", "t", str(rar)], capture_output=True, text=True)
    assert tested.returncode != 0 and "CRC Failed : a.txt" in tested.stdout + tested.stderr


def test_vigil_scan_records_every_member_with_its_md5(tmp_path: Path) -> None:
    files = members()
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    rar = evidence / "exhibit.rar"
    write(rar, files)
    vigil = InProcessVigil(tmp_path / "home")
    summary = json.loads(vigil("scan", str(evidence), "--case", "RAR", "--exhibit", "E",
                               "--json", "--workers", "1", "--executor", "threads"))
    assert (summary["items"], summary["media"]) == (51, {"image": 40, "other": 11})
    with sqlite3.connect(tmp_path / "home" / "cases" / "RAR.sqlite") as conn:
        found = dict(conn.execute(
            "select i.path, c.md5 from items i left join contents c on c.id = i.content_id"))
        errors = conn.execute("select location, reason from errors").fetchall()
    want = {f"exhibit.rar!{name}": _md5(data) for name, data in files.items()}
    want["exhibit.rar"] = _md5(rar.read_bytes())
    assert found == want
    assert errors == []
