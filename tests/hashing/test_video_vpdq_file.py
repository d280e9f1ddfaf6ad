"""Reading vPDQ hash files (reference format)."""

from __future__ import annotations

from pathlib import Path

from vigil.hashsets.entry import Malformed
from vigil.hashsets.vpdq_file import parse_vpdq_lines, read_vpdq_file
from vigil.model import FrameHash

SAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "vpdq"


def test_reads_reference_file() -> None:
    hashes = read_vpdq_file(SAMPLES / "sample-hashes" / "pattern-sd-grey-bar.txt")
    assert hashes.name == "pattern-sd-grey-bar"
    assert hashes.malformed == []
    assert len(hashes.frames) == 206
    assert hashes.frames[0] == FrameHash(
        0.0, "b2dc981be36c994787bc16811edcda81d20b855627b6bff86e8ba1050b44ff86", 100
    )
    assert hashes.frames[1].timestamp == 0.033


def test_malformed_lines_are_counted_with_numbers() -> None:
    good = "0,100,B2DC981BE36C994787BC16811EDCDA81D20B855627B6BFF86E8BA1050B44FF86,0.000"
    lines = [
        good,
        "",
        "1,100,b2dc,0.033",
        "2,101," + "a" * 64 + ",0.067",
        "x,50," + "a" * 64 + ",0.1",
        "3,50," + "a" * 64 + ",nan",
        "4,50," + "a" * 64,
        "5,50," + "g" * 64 + ",0.2",
        "6,50," + "a" * 64 + ",-1",
        "7,90," + "0" * 64 + ",0.233",
    ]
    hashes = parse_vpdq_lines(lines, "clip")
    assert [f.timestamp for f in hashes.frames] == [0.0, 0.233]
    assert hashes.frames[0].pdq == good.split(",")[2].lower()
    assert [m.record for m in hashes.malformed] == [3, 4, 5, 6, 7, 8, 9]
    assert hashes.malformed[0] == Malformed(3, "hash 'b2dc' is not 64 hex digits")
    assert hashes.malformed[4].reason == "expected 4 comma-separated fields, got 3"


def test_binary_garbage_does_not_crash(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(b"\xff\xfe\x00garbage\n\x89PNG\r\n" + bytes(range(256)))
    hashes = read_vpdq_file(path, name="bad")
    assert hashes.name == "bad" and hashes.frames == []
    assert len(hashes.malformed) >= 2
