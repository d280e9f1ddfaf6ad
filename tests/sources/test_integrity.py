"""The E01 integrity pass (``verify.check_media``) and the items it flags in ``iter_image``."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pyewf

from vigil.model import Item, ScanError
from vigil.sources.image import iter_image
from vigil.sources.verify import MediaCheck, check_media

DISK = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "disk"
MBR_E01 = DISK / "generated" / "gen_mbr_disk.E01"


def _media(path: Path) -> bytes:
    handle = pyewf.handle()
    handle.open(pyewf.glob(str(path)), "r")
    try:
        return handle.read(handle.get_media_size())
    finally:
        handle.close()


def _offsets(haystack: bytes, needle: bytes) -> list[int]:
    found, at = [], haystack.find(needle)
    while at >= 0:
        found.append(at)
        at = haystack.find(needle, at + 1)
    return found


def _bytes(item: Item) -> bytes:
    with item.open() as stream:
        out = b""
        while chunk := stream.read(1 << 20):
            out += chunk
    return out


def test_clean_e01_verifies() -> None:
    check = check_media(MBR_E01)
    assert (check.media_size, check.bytes_read, check.chunk_size) == (67108864, 67108864, 32768)
    assert check.computed_md5 == check.stored_md5 == "579a7dfc19973a6ab0147062fc8e664b"
    assert check.computed_sha1 == "dae2d6acf5fb064c8785e423d63b3fc293ce94d1"
    assert check.stored_sha1 is None
    assert (check.hash_status, check.bad_ranges, check.ok) == ("verified", (), True)
    assert check.summary() == "acquisition hash verified; 0 chunks failed the checksum"
    assert check.records("gen_mbr_disk.E01") == []
    # No bad chunk, nothing to flag: the listing is the one without the check.
    with_check = [r for r in iter_image(MBR_E01, media=check)]
    assert [r for r in with_check if isinstance(r, ScanError)] == []


def test_flipped_byte_flags_its_chunk_and_the_file_over_it(tmp_path: Path) -> None:
    names = ("ext2.split.E01", "ext2.split.E02")
    for name in names:
        (tmp_path / name).write_bytes((DISK / "dfvfs" / name).read_bytes())
    media = _media(tmp_path / names[0])
    (where,) = _offsets(media, b"place,user,password")
    segment = tmp_path / names[0]
    data = bytearray(segment.read_bytes())
    (at,) = _offsets(bytes(data), b"place,user,password")
    data[at] ^= 0x01
    segment.write_bytes(bytes(data))
    check = check_media(segment)
    chunk = where // 32768 * 32768
    assert check.bad_ranges == ((chunk, 32768),)
    assert check.stored_md5 == "196066add11fb71c4c49cf1bb50d6d24"
    assert check.hash_status == "mismatch" and not check.ok
    # The files in that chunk, found by where their bytes lie in the clean media.
    over = []
    for item in iter_image(DISK / "dfvfs" / names[0]):
        if isinstance(item, Item) and item.size:
            (start,) = _offsets(media, _bytes(item))
            if start < chunk + 32768 and chunk < start + item.size:
                over.append(item.path)
    assert over == ["EXT/passwords.txt", "EXT/a_directory/a_file", "EXT/a_directory/another_file"]
    results = list(iter_image(segment, media=check))
    integrity = [r for r in results if isinstance(r, ScanError) and r.stage == "integrity"]
    reason = f"media bytes {chunk}-{chunk + 32767} failed the E01 chunk checksum or are missing"
    assert integrity[0].location == "ext2.split.E01"  # the hash mismatch, at the image
    assert integrity[0].reason.startswith("acquisition hash MISMATCH (stored MD5 196066add")
    assert sorted(r.location for r in integrity[1:]) == sorted(over)
    assert all(r.reason.startswith(reason) for r in integrity[1:])


def test_items_are_mapped_through_their_partition() -> None:
    # Each partition of the MBR fixture holds the same files: a bad range over the second
    # copy of a file's bytes must flag that file in p2 only (partition offset applied),
    # for a live file (dfvfs extents) and for a deleted one (Sleuth Kit runs).
    items = {r.path: r for r in iter_image(MBR_E01) if isinstance(r, Item)}
    media = _media(MBR_E01)
    clean = check_media(MBR_E01)
    for path in ("p2/NTFS/Pictures/random_blob.bin", "p2/NTFS/secret_plan.txt"):
        content = _bytes(items[path])
        copies = _offsets(media, content[:2048])
        assert len(copies) >= 3, path
        p2_copy = copies[1]
        bad = dataclasses.replace(clean, bad_ranges=((p2_copy + 100, 1),))
        assert isinstance(bad, MediaCheck)
        flagged = [
            r.location
            for r in iter_image(MBR_E01, media=bad)
            if isinstance(r, ScanError) and r.stage == "integrity"
        ]
        assert flagged == [path], path
        assert hashlib.md5(content).hexdigest()  # the copy searched for was the real content
