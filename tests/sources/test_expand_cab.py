"""A real Microsoft Cabinet written by gcab (Debian), stored and MSZIP-compressed: every
picture is a member with its exact MD5, as ``gcab --list`` lists them."""

from __future__ import annotations

import hashlib
import io
import subprocess
from pathlib import Path

import pytest

from vigil.demo import draw_landscape
from vigil.model import Item
from vigil.sources.expand.recurse import expand_tree
from vigil.sources.sniff import sniff


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@pytest.mark.parametrize("compress", [[], ["--zip"]])
def test_cab_members_are_found_byte_exact(tmp_path: Path, compress: list[str]) -> None:
    source = tmp_path / "in"
    (source / "photos").mkdir(parents=True)
    draw_landscape(21, (120, 80)).save(source / "photos" / "lake.jpg", quality=88)
    draw_landscape(22, (64, 64)).save(source / "photos" / "hill.png")
    (source / "readme.txt").write_text("benign cabinet fixture\n")
    names = ["photos/lake.jpg", "photos/hill.png", "readme.txt"]
    cab = tmp_path / "setup.cab"
    subprocess.run(["gcab", "--create", *compress, str(cab), *names], cwd=source, check=True)
    listed = subprocess.run(["gcab", "--list", str(cab)], capture_output=True, text=True,
                            check=True).stdout.split()
    # A cabinet stores Windows paths.
    assert sorted(listed) == sorted(name.replace("/", "\\") for name in names)
    data = cab.read_bytes()
    assert sniff(data[:4096]).mime == "application/vnd.ms-cab-compressed"
    found = []
    for child in expand_tree(Item("setup.cab", lambda: io.BytesIO(data), size=len(data))):
        assert isinstance(child, Item), child
        with child.open() as stream:
            found.append((child.path, _md5(stream.read())))
    assert sorted(found) == sorted(
        (f"setup.cab!{path}", _md5((source / path).read_bytes()))
        for path in (name.replace("\\", "/") for name in listed)  # libarchive gives "/"
    )
