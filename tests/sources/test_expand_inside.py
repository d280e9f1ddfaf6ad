"""Pictures carved from inside allocated files of no known kind (``expand/inside.py``).

Generated pictures are placed at known offsets inside a PE-like binary, a pagefile of
zeros and a member of a zip; the children must be exactly ``file@offset`` with the
pictures' own MD5s. Crafted bytes (a signature every few bytes, chained segments) and a
large file of zeros show the cost stays one read and a bounded walk per byte.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import zipfile
from pathlib import Path

from documents_corpus.build_documents import encoded
from tests_support import InProcessVigil
from vigil.model import Item
from vigil.sources.carve import carve
from vigil.sources.expand import Limits, expander_for
from vigil.sources.expand.recurse import expand_tree

JPEG, PNG = encoded(5), encoded(6, "PNG")
RNG = random.Random(1)
DLL = b"MZ\x90\x00" + RNG.randbytes(10_000) + JPEG + RNG.randbytes(3000) + PNG + RNG.randbytes(500)
AT_JPEG, AT_PNG = 10_004, 10_004 + len(JPEG) + 3000


def _item(path: str, data: bytes) -> Item:
    return Item(path=path, open=lambda: io.BytesIO(data), size=len(data))


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _tree(path: str, data: bytes, limits: Limits | None = None) -> list[tuple[str, str]]:
    found = []
    for child in expand_tree(_item(path, data), limits):
        assert isinstance(child, Item), child
        with child.open() as stream:
            found.append((child.path, _md5(stream.read())))
    return found


def test_pictures_inside_a_binary_are_children_at_their_offsets() -> None:
    assert _tree("Windows/System32/lib.dll", DLL) == [
        (f"Windows/System32/lib.dll@{AT_JPEG}", _md5(JPEG)),
        (f"Windows/System32/lib.dll@{AT_PNG}", _md5(PNG)),
    ]


def test_inside_a_pagefile_and_inside_an_unknown_zip_member() -> None:
    pagefile = bytes(1 << 20) + JPEG + bytes(4096)
    assert _tree("pagefile.sys", pagefile) == [(f"pagefile.sys@{1 << 20}", _md5(JPEG))]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app/blob.bin", DLL)
    assert _tree("a.zip", buf.getvalue()) == [
        ("a.zip!app/blob.bin", _md5(DLL)),
        (f"a.zip!app/blob.bin@{AT_JPEG}", _md5(JPEG)),
        (f"a.zip!app/blob.bin@{AT_PNG}", _md5(PNG)),
    ]


def test_the_setting_turns_carving_inside_files_off() -> None:
    off = Limits(carve_files=False)
    assert expander_for("application/octet-stream", off) is None
    assert expander_for("application/octet-stream") is not None
    assert _tree("lib.dll", DLL, off) == []


def test_scan_carves_inside_files_unless_told_not_to(tmp_path: Path) -> None:
    evidence = tmp_path / "ev"
    evidence.mkdir()
    (evidence / "lib.dll").write_bytes(DLL)
    (evidence / "picture.jpg").write_bytes(JPEG)
    for flag, images in (([], 3), (["--no-carve-files"], 1)):
        vigil = InProcessVigil(tmp_path / f"home{len(flag)}")
        summary = json.loads(vigil("scan", str(evidence), "--case", "C", "--exhibit", "E",
                                   "--json", "--workers", "1", "--executor", "threads", *flag))
        assert (summary["items"], summary["media"]) == (
            1 + images, {"image": images, "other": 1}), flag


class _Counting(io.BytesIO):
    """A stream that counts the bytes read from it."""

    read_bytes = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.read_bytes += len(data)
        return data


def test_zeros_cost_one_read_and_crafted_chains_stay_within_the_walk_bound() -> None:
    zeros = _Counting(bytes(16 << 20))
    assert list(carve(zeros, 0, 16 << 20)) == []
    assert zeros.read_bytes <= (16 << 20) + (1 << 20)
    # Without the memo of failed chains each of these costs the square of its length
    # (about 10**9 walk steps); the bound of four steps per byte would stop carving and
    # leave a problem here.
    n = 200_000
    crafted = {
        "chained JPEG segments": b"\xff\xd8\xff\xe0\x00\x10" * (n // 6),
        "JPEG starts": b"\xff\xd8\xff" * (n // 3),
        "PNG signatures": b"\x89PNG\r\n\x1a\n" * (n // 8),
        "GIF headers in data blocks": (b"GIF89a\x01\x00\x01\x00\x00\x00\x00\x21\xf9"
                                       + b"\x04abcd") * (n // 20),
    }
    for name, data in crafted.items():
        problems: list[str] = []
        data += bytes(64)  # a gap: no crafted chain leads into the picture after it
        assert list(carve(io.BytesIO(data + JPEG), 0, len(data) + len(JPEG), problems)) == [
            (len(data), len(JPEG), "jpeg")
        ], name
        assert problems == [], name
