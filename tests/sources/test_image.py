"""iter_image against every disk fixture listed in ../shared/fixtures/disk/EXPECTED.json."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from vigil.model import Item, ScanError
from vigil.sources.expand.recurse import expand_tree
from vigil.sources.image import iter_image
from vigil.sources.sniff import sniff

DISK = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "disk"
EXPECTED = json.loads((DISK / "EXPECTED.json").read_text(encoding="utf-8"))


def _hash(item: Item) -> tuple[int, str, str]:
    md5, sha1, n = hashlib.md5(), hashlib.sha1(), 0
    with item.open() as stream:
        while chunk := stream.read(1 << 20):
            md5.update(chunk)
            sha1.update(chunk)
            n += len(chunk)
    return n, md5.hexdigest(), sha1.hexdigest()


def _volume_and_fs(chain: str) -> tuple[str, str]:
    """Map an EXPECTED chain like ``NTFS(\\) <- TSK_PARTITION(/p2) <- EWF`` to our prefix."""
    parts = [p.strip() for p in chain.split("<-")]
    volumes = [p[p.index("(/") + 2 : -1] for p in parts[1:] if "(/" in p]
    return "/".join(reversed(volumes)), parts[0].split("(")[0]


def _fs_names(fs_type: str, tsk_ftype: object) -> set[str]:
    if fs_type == "FAT":
        return {{2: "FAT12", 4: "FAT16", 8: "FAT32", 10: "EXFAT"}[int(tsk_ftype)]}
    if fs_type == "TSK":
        return {"ISO9660"}
    return {fs_type}


CASES = [(name, i) for name, systems in EXPECTED.items() for i in range(len(systems))]


@pytest.fixture(scope="module")
def scanned() -> dict[str, list[Item | ScanError]]:
    return {}


def _scan(cache: dict[str, list[Item | ScanError]], name: str) -> list[Item | ScanError]:
    if name not in cache:
        cache[name] = list(iter_image(DISK / name))
    return cache[name]


@pytest.mark.parametrize(("name", "index"), CASES, ids=[f"{n}#{i}" for n, i in CASES])
def test_image_lists_expected_files(
    scanned: dict[str, list[Item | ScanError]], name: str, index: int
) -> None:
    expected = EXPECTED[name][index]
    volume, fs_type = _volume_and_fs(expected["chain"])
    results = _scan(scanned, name)
    items = [r for r in results if isinstance(r, Item)]
    (fs_name,) = _fs_names(fs_type, expected["tsk_ftype"])
    prefix = f"{volume}/{fs_name}/" if volume else f"{fs_name}/"
    # The only records: each symbolic link, listed and not followed.
    errors = [r for r in results if isinstance(r, ScanError) and r.location.startswith(prefix)]
    assert [(e.location, e.stage) for e in errors] == [
        (prefix + e["path"][1:], "walk") for e in expected["allocated"] if e["type"] == "link"
    ]
    assert all(e.reason.startswith("symbolic link to ") for e in errors)
    mine = {i.path[len(prefix) - 1 :]: i for i in items if i.path.startswith(prefix)}

    want: dict[str, dict] = {}
    for entry in expected["allocated"]:
        if entry["type"] != "file":
            continue
        want[entry["path"]] = entry
        for stream, info in entry.get("ads", {}).items():
            want[f"{entry['path']}:{stream}"] = {**info, "id": entry["id"]}
    allocated = {p: i for p, i in mine.items() if i.allocated}
    assert sorted(allocated) == sorted(want)
    for path, entry in want.items():
        item = allocated[path]
        assert item.size == entry["size"], path
        assert _hash(item) == (entry["size"], entry["md5"], entry["sha1"]), path
        assert item.inode == str(entry["id"]), path
        assert not item.deleted

    deleted = {p: i for p, i in mine.items() if i.deleted and not p.startswith("/$")}
    assert sorted(deleted) == sorted(e["path"] for e in expected["deleted"])
    for entry in expected["deleted"]:
        item = deleted[entry["path"]]
        assert not item.allocated
        assert item.inode == str(entry["meta_addr"])
        if "md5" in entry:
            assert item.size == entry["size"]
            assert _hash(item) == (entry["size"], entry["md5"], entry["sha1"])
        else:
            assert item.size is None
            assert _hash(item)[0] == 0


def test_paths_unique_and_times_utc() -> None:
    items = [r for r in iter_image(DISK / "generated" / "gen_mbr_disk.E01") if isinstance(r, Item)]
    paths = [i.path for i in items]
    assert len(paths) == len(set(paths))
    assert {p.split("/")[0] for p in paths} == {"p1", "p2", "p3"}
    assert {p.split("/")[1] for p in paths} == {"FAT32", "NTFS", "EXFAT"}
    readme = next(i for i in items if i.path == "p2/NTFS/README.TXT")
    assert readme.modified is not None
    assert readme.modified.isoformat() == "2024-01-02T03:04:05+00:00"


def test_orphan_inodes_recover_deleted_content() -> None:
    items = [r for r in iter_image(DISK / "plaso" / "syslog_image.dd") if isinstance(r, Item)]
    orphans = {i.path: i for i in items if "/$OrphanFiles/" in i.path}
    got = {p.rsplit("/", 1)[1]: _hash(i)[1] for p, i in orphans.items()}
    assert got == {
        "OrphanFile-14": "85bebf486af24792085f769afa46717d",
        "OrphanFile-15": "39cb097008d17660abd0539891a672af",
        "OrphanFile-16": "d54ff73404ed6041a3bd66850b061bff",
    }


def test_vss_stores_are_their_own_volumes() -> None:
    items = [
        r for r in iter_image(DISK / "dfvfs" / "vsstest.qcow2", vss=True) if isinstance(r, Item)
    ]
    syslog = next(i for i in items if i.path == "vss1/NTFS/syslog")
    assert (syslog.size, syslog.inode) == (1247, "35")
    assert _hash(syslog)[1] == "8b32710e60ce9f650b8b4dcc2b3ee927"
    vss2 = {i.path for i in items if i.path.startswith("vss2/NTFS/")}
    assert {"vss2/NTFS/another_file", "vss2/NTFS/syslog.gz"} <= vss2
    assert "vss2/NTFS/password.txt" not in vss2
    assert "NTFS/password.txt" in {i.path for i in items}


def test_open_is_thread_safe() -> None:
    items = [r for r in iter_image(DISK / "generated" / "gen_mbr_disk.E01") if isinstance(r, Item)]
    serial = {i.path: _hash(i) for i in items}
    with ThreadPoolExecutor(4) as pool:
        parallel = dict(zip(serial, pool.map(_hash, items * 1), strict=True))
    assert parallel == serial


def test_bogus_image_is_an_error_not_a_crash() -> None:
    results = list(iter_image(DISK / "pytsk" / "bogus.raw"))
    assert results and all(isinstance(r, ScanError) for r in results)
    assert "no file system" in results[0].reason


def test_truncated_e01_is_an_error(tmp_path: Path) -> None:
    data = (DISK / "generated" / "gen_mbr_disk.E01").read_bytes()
    cut = tmp_path / "cut.E01"
    cut.write_bytes(data[: len(data) // 3])
    results = list(iter_image(cut))
    errors = [r for r in results if isinstance(r, ScanError)]
    assert errors, "a truncated E01 must produce ScanErrors"
    for item in (r for r in results if isinstance(r, Item)):
        with contextlib.suppress(OSError):
            _hash(item)


# --- the DFTT-#8-like NTFS image (tests/sources/build_dftt8.py) ---

def _builder():  # noqa: ANN202
    spec = importlib.util.spec_from_file_location(
        "build_dftt8", Path(__file__).resolve().parent / "build_dftt8.py"
    )
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.fixture(scope="module")
def dftt8(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("dftt8")
    image = _builder().build(folder, seed=8)
    return image, json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def _read(item: Item) -> bytes:
    with item.open() as stream:
        return stream.read()


def _everything(image: Path, carve: bool) -> list[Item | ScanError]:
    out: list[Item | ScanError] = []
    for found in iter_image(image, carve=carve):
        out.append(found)
        if isinstance(found, Item):
            out.extend(expand_tree(found))
    return out


def test_every_picture_found_and_no_decoy(dftt8: tuple[Path, dict]) -> None:
    image, manifest = dftt8
    results = _everything(image, carve=True)
    assert [r for r in results if isinstance(r, ScanError)] == []
    items = {r.path: r for r in results if isinstance(r, Item)}
    pictures = {
        path: hashlib.md5(data).hexdigest()
        for path, item in items.items()
        if sniff(data := _read(item)[:4096] and _read(item)).media == "image"
    }
    expected = manifest["pictures"]
    unalloc = f"NTFS/$Unallocated@{manifest['unallocated_offset']}"
    deleted_md5 = {expected[p] for p in manifest["deleted"]}
    # Carving also finds the deleted pictures' freed clusters again: those duplicates are
    # right (live over deleted over carved is the report's duplicate policy).
    extra = {p: m for p, m in pictures.items() if p not in expected}
    assert all(p.startswith("NTFS/$Unallocated@") for p in extra), extra
    assert set(extra.values()) <= deleted_md5
    assert {p: pictures.get(p) for p in expected} == expected
    for path in manifest["deleted"]:
        assert items[path].deleted and not items[path].allocated
    assert items[unalloc].carved and items[unalloc].offset == manifest["unallocated_offset"]
    assert items["NTFS/report.docx!word/media/image1.jpeg"].embedded
    for decoy in manifest["decoys"]:
        assert sniff(_read(items[decoy])[:4096]).media == "other", decoy


def test_carved_picture_needs_carving(dftt8: tuple[Path, dict]) -> None:
    image, manifest = dftt8
    paths = {r.path for r in iter_image(image) if isinstance(r, Item)}
    assert not any("$Unallocated" in p for p in paths)
    assert set(manifest["deleted"]) <= paths


def test_ext4_special_entries_are_records(tmp_path: Path) -> None:
    import os
    import socket
    import subprocess

    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "empty.txt").write_bytes(b"")
    (tree / "data.bin").write_bytes(b"data")
    os.symlink("data.bin", tree / "link")
    os.mkfifo(tree / "fifo")
    os.mknod(tree / "null", 0o600 | 0o020000, os.makedev(1, 3))
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(tree / "sock"))
    image = tmp_path / "ext4.raw"
    with image.open("wb") as f:
        f.truncate(8 * 1024 * 1024)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-d", str(tree), str(image)], check=True)
    before = (hashlib.md5(image.read_bytes()).hexdigest(), image.stat().st_mtime_ns)
    results = list(iter_image(image))
    items = sorted((r.path, r.size) for r in results if isinstance(r, Item))
    assert items == [("EXT/data.bin", 4), ("EXT/empty.txt", 0)]
    records = sorted((r.location, r.stage, r.reason) for r in results if isinstance(r, ScanError))
    assert records == [
        ("EXT/fifo", "walk", "FIFO (named pipe), not read"),
        ("EXT/link", "walk", "symbolic link to 'data.bin', not followed"),
        ("EXT/null", "walk", "device, not read"),
        ("EXT/sock", "walk", "socket, not read"),
    ]
    assert (hashlib.md5(image.read_bytes()).hexdigest(), image.stat().st_mtime_ns) == before
