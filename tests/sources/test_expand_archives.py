"""Archive expanders against ../shared/fixtures/archives (expected values: its README)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from vigil.model import Item, ScanError
from vigil.sources.expand import expander_for
from vigil.sources.expand.recurse import expand_tree
from vigil.sources.sniff import sniff

ARCHIVES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "archives"
DISK = ARCHIVES.parent / "disk"

RAR_SUBDIRS = {
    "sub/dir1/file1.txt": (6, "5149d403009a139c7e085405ef762e1a"),
    "sub/dir2/file2.txt": (6, "3d709e89c8ce201e3c928eb917989aef"),
    "sub/with space/long fn.txt": (8, "9d3bfd4f20eb3602e4e89bf611ba0ffe"),
    "sub/üȵĩöḋè/file.txt": (5, "bbe02f946d5455d74616fc9777557c22"),
}
EXPECTED = {
    "bundle.zip": {
        "inner/hello.txt": (26, "6ee681994320666388084692b20f4f12"),
        "inner/data.bin": (4096, "304e93fdcb3a3ff277d903d260a9c6b0"),
    },
    "bundle.7z": {
        "hello7z.txt": (25, "be2632fb10e3f382073de958681c9c75"),
        "sub/data7z.bin": (3000, "68dcf22354356105e3bc0e035c4d4a23"),
    },
    "nested.zip": {
        "level1/inner.zip": (147, None),
        "level1/inner.zip!level2/deep.txt": (17, "8f00aa4c25d90bc1e9897c62045c2511"),
    },
    "rar5-subdirs.rar": RAR_SUBDIRS,
    "rar3-subdirs.rar": RAR_SUBDIRS,
}


def file_item(path: Path, name: str | None = None) -> Item:
    return Item(path=name or path.name, open=lambda: path.open("rb"), size=path.stat().st_size)


def md5_of(item: Item) -> tuple[int, str]:
    with item.open() as stream:
        data = stream.read()
    return len(data), hashlib.md5(data).hexdigest()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_archive_members_and_hashes(name: str) -> None:
    parent = file_item(ARCHIVES / name)
    results = list(expand_tree(parent))
    assert [r for r in results if isinstance(r, ScanError)] == []
    children = {r.path[len(name) + 1 :]: r for r in results if isinstance(r, Item)}
    assert sorted(children) == sorted(EXPECTED[name])
    for member, (size, md5) in EXPECTED[name].items():
        item = children[member]
        assert item.size == size
        got = md5_of(item)
        assert got[0] == size
        if md5:
            assert got[1] == md5
        assert item.in_archive
        assert item.parent == item.path.rsplit("!", 1)[0]
        assert item.depth == item.path.count("!")


def test_solid_rar5_needs_bsdtar_and_reads() -> None:
    assert shutil.which("bsdtar"), "bsdtar missing: apt-get install libarchive-tools"
    parent = file_item(ARCHIVES / "rar5-solid.rar")
    items = [r for r in expand_tree(parent) if isinstance(r, Item)]
    assert sorted(i.path for i in items) == [
        "rar5-solid.rar!stest1.txt",
        "rar5-solid.rar!stest2.txt",
    ]
    import zlib

    for item in items:
        with item.open() as stream:
            data = stream.read()
        assert (len(data), zlib.crc32(data)) == (2048, 0xC5B7E6A2)


def test_tgz_and_zip_inside_disk_image() -> None:
    from vigil.sources.image import iter_image

    found = iter_image(DISK / "plaso" / "syslog_image.dd")
    items = {r.path: r for r in found if isinstance(r, Item)}
    hidden = list(expand_tree(items["EXT/logs/hidden.zip"]))
    assert [(r.path, md5_of(r)) for r in hidden if isinstance(r, Item)] == [
        ("EXT/logs/hidden.zip!syslog", (1247, "8b32710e60ce9f650b8b4dcc2b3ee927"))
    ]
    tgz = [r for r in expand_tree(items["EXT/logs/sys.tgz"]) if isinstance(r, Item)]
    got = {r.path: md5_of(r) for r in tgz}
    gz = next(p for p in got if p.endswith("syslog.gz"))
    assert got[gz] == (538, "d01473c25314c61ce9860f3d0eaf739b")
    assert gz.startswith("EXT/logs/sys.tgz!") and gz.count("!") == 2
    assert any(p.startswith(gz + "!") and v == (1247, "8b32710e60ce9f650b8b4dcc2b3ee927")
               for p, v in got.items())


def test_every_registered_kind_is_found() -> None:
    for mime in ("application/zip", "application/x-7z-compressed", "application/vnd.rar",
                 "application/x-tar", "application/gzip", "application/x-bzip2",
                 "application/x-xz", "application/pdf", "application/x-ole-storage",
                 "application/x-thumbcache"):
        assert expander_for(mime) is not None, mime
    assert sniff((ARCHIVES / "bundle.7z").read_bytes()[:4096]).mime == "application/x-7z-compressed"


def test_corrupt_archive_is_an_error(tmp_path: Path) -> None:
    data = (ARCHIVES / "bundle.zip").read_bytes()
    bad = tmp_path / "bad.zip"
    bad.write_bytes(data[:100])
    results = list(expand_tree(file_item(bad)))
    # The intact first member is kept (read from its local header), then the damage.
    assert [(r.path, md5_of(r)) for r in results if isinstance(r, Item)] == [
        ("bad.zip!inner/hello.txt", EXPECTED["bundle.zip"]["inner/hello.txt"])
    ]
    assert results[-1] == ScanError(
        "bad.zip", "expand.archive",
        "archive read stopped after 1 entries: Truncated ZIP file header",
    )
