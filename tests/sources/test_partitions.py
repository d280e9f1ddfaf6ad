"""partitions.read_table on tables written by sfdisk and sgdisk."""

from __future__ import annotations

import subprocess
from pathlib import Path

from vigil.sources.partitions import Partition, read_table

MIB = 1024 * 1024


def _reader(path: Path):  # noqa: ANN202 - a small closure
    data = path.read_bytes()
    return (lambda offset, size: data[offset : offset + size]), len(data)


def _image(tmp_path: Path, size: int = 16 * MIB) -> Path:
    image = tmp_path / "disk.raw"
    with image.open("wb") as f:
        f.truncate(size)
    return image


def test_mbr_primary_and_extended(tmp_path: Path) -> None:
    image = _image(tmp_path)
    table = "label: dos\nstart=2048, size=4096, type=83\nstart=8192, size=8192, type=5\n"
    table += "start=10240, size=2048, type=83\n"  # a logical partition inside the extended one
    subprocess.run(["sfdisk", "-q", str(image)], input=table.encode(), check=True)
    read, size = _reader(image)
    assert read_table(read, size) == (
        [Partition("p1", 2048 * 512, 4096 * 512)],
        ["MBR entry 2: extended partition not walked in this fallback"],
    )


def test_gpt_primary_then_backup(tmp_path: Path) -> None:
    image = _image(tmp_path)
    subprocess.run(["sgdisk", "-n", "1:2048:+2M", "-n", "2:0:+3M", str(image)], check=True,
                   capture_output=True)
    want = [Partition("p1", 2048 * 512, 2 * MIB), Partition("p2", 2048 * 512 + 2 * MIB, 3 * MIB)]
    read, size = _reader(image)
    assert read_table(read, size) == (want, [])
    data = bytearray(image.read_bytes())
    data[512 + 30] ^= 0xFF  # the primary header's CRC no longer holds
    image.write_bytes(bytes(data))
    read, size = _reader(image)
    assert read_table(read, size) == (
        want, ["GPT: primary header damaged, partitions read from the backup header"]
    )
    data[size - 512 + 30] ^= 0xFF
    image.write_bytes(bytes(data))
    read, size = _reader(image)
    assert read_table(read, size) == ([], ["GPT: primary and backup headers both unreadable"])


def test_no_table(tmp_path: Path) -> None:
    read, size = _reader(_image(tmp_path, MIB))
    assert read_table(read, size) == ([], [])
