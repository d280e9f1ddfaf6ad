"""verify_ewf on the shared E01 fixtures (stored hashes are documented in the README)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.errors import EvidenceError
from vigil.sources.verify import verify_ewf

DISK = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "disk"


def test_verify_generated_e01() -> None:
    result = verify_ewf(DISK / "generated" / "gen_mbr_disk.E01")
    assert result.stored_md5 == "579a7dfc19973a6ab0147062fc8e664b"
    assert result.computed_md5 == "579a7dfc19973a6ab0147062fc8e664b"
    assert result.computed_sha1 == "dae2d6acf5fb064c8785e423d63b3fc293ce94d1"
    assert result.ok


def test_verify_split_e01() -> None:
    result = verify_ewf(DISK / "dfvfs" / "image-split.E01")
    assert result.stored_md5 == result.computed_md5 == "38ea5af8a80e16e46c095c9110242fc0"
    assert result.ok


def test_verify_detects_altered_media(tmp_path: Path) -> None:
    # An uncompressed split set: flip a byte inside the stored media data.
    for name in ("ext2.split.E01", "ext2.split.E02"):
        (tmp_path / name).write_bytes((DISK / "dfvfs" / name).read_bytes())
    seg = tmp_path / "ext2.split.E01"
    data = bytearray(seg.read_bytes())
    index = data.find(b"place,user,password")
    assert index > 0
    data[index] ^= 0x01
    seg.write_bytes(bytes(data))
    try:
        result = verify_ewf(seg)
    except EvidenceError:
        return  # a chunk checksum error is also a detected alteration
    assert result.stored_md5 == "196066add11fb71c4c49cf1bb50d6d24"
    assert result.computed_md5 != result.stored_md5
    assert not result.ok


def test_verify_truncated_raises(tmp_path: Path) -> None:
    data = (DISK / "generated" / "gen_mbr_disk.E01").read_bytes()
    cut = tmp_path / "cut.E01"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(EvidenceError):
        verify_ewf(cut)
