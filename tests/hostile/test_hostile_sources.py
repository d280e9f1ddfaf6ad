"""The source listing over the hostile-evidence corpus (``build_hostile.py``).

For every case: the exact set of items, the planted pictures that Sleuth Kit can still
recover found with their exact MD5, a record with its reason for everything else, and
the evidence unchanged (content digest, size and mtime of every file, before and after).
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from hostile.build_hostile import SPARSE_BYTES, Case, build_all, outcome_problems, pic
from vigil.model import Item, ScanError
from vigil.sources import SourceOptions, evidence_kind, open_evidence
from vigil.sources.reopen import open_item
from vigil.sources.verify import check_media, is_ewf

FOLDER, CASES = build_all()
NOT_READ = {"sparse.bin"}  # 20 GiB: read at its end only (test_sparse_file_read_at_its_end)


def _digest(path: Path) -> str:
    """MD5 over the non-zero 64 KiB blocks of a file and their offsets.

    Holes are skipped (SEEK_DATA), so the 20 GiB sparse file costs nothing, and zero
    blocks are skipped too: whether the kernel reports a freshly written zero range as
    data or as a hole changes with writeback, the digest must not.
    """
    md5, block, zero = hashlib.md5(), 1 << 16, bytes(1 << 16)
    with path.open("rb") as f:
        fd, size, done = f.fileno(), os.fstat(f.fileno()).st_size, 0
        while done < size:
            try:
                data_start = os.lseek(fd, done, os.SEEK_DATA)
            except OSError:
                break
            end = os.lseek(fd, data_start, os.SEEK_HOLE)
            start = max(data_start // block * block, done)  # each block once, in order
            f.seek(start)
            for offset in range(start, end, block):
                data = f.read(block)
                if data != zero[: len(data)]:
                    md5.update(offset.to_bytes(8, "little") + data)
                done = offset + block
    md5.update(size.to_bytes(8, "little"))
    return md5.hexdigest()


def _state(evidence: Path) -> dict[bytes, tuple]:
    """Per file below ``evidence``: mode, size, mtime and (regular files) content digest."""
    paths = [evidence] if evidence.is_file() else sorted(
        Path(os.fsdecode(os.path.join(top, name)))
        for top, dirs, files in os.walk(os.fsencode(evidence))
        for name in dirs + files
    )
    if evidence.is_file():  # the other segments of a split image too
        paths = sorted(evidence.parent.iterdir())
    state = {}
    for path in paths:
        st = path.lstat()
        digest = _digest(path) if stat.S_ISREG(st.st_mode) else None
        state[os.fsencode(path)] = (st.st_mode, st.st_size, st.st_mtime_ns, digest)
    return state


def _md5(item: Item) -> str | None:
    md5 = hashlib.md5()
    try:
        with item.open() as stream:
            while chunk := stream.read(1 << 20):
                md5.update(chunk)
    except Exception:  # noqa: BLE001 - unreadable: the outcome check wants a record
        return None
    return md5.hexdigest()


def _listing(case: Case) -> tuple[list[Item | ScanError], dict[bytes, tuple]]:
    evidence = FOLDER / case.evidence
    before = _state(evidence)
    media = check_media(evidence) if evidence.is_file() and is_ewf(evidence) else None
    results = list(open_evidence(evidence, SourceOptions(media=media), evidence_kind(evidence)))
    return results, before


@pytest.mark.parametrize("name", sorted(CASES))
def test_source_listing(name: str) -> None:
    case = CASES[name]
    results, before = _listing(case)
    items = [r for r in results if isinstance(r, Item)]
    records = [(r.location, r.stage, r.reason) for r in results if isinstance(r, ScanError)]
    assert len({i.path for i in items}) == len(items), "item paths must be unique"
    found = {i.path: None if i.path in NOT_READ else _md5(i) for i in items}
    assert [ascii(p) for p in outcome_problems(case, found, records)] == []
    # Whatever could not be read has a record at its path (or above it).
    for path, digest in found.items():
        if digest is None and path not in NOT_READ:
            assert any(path == r[0] or path.startswith(r[0] + "/") for r in records), path
    assert _state(FOLDER / case.evidence) == before


def test_expected_counts_are_what_the_corpus_plants() -> None:
    # The corpus itself: so that a change in the generator cannot empty a case silently.
    counts = {n: (len(c.must_find), len(c.lost), len(c.must_record)) for n, c in CASES.items()}
    assert counts == {
        "e01_bad_chunk": (2, 1, 1),
        "e01_cut": (1, 1, 2),
        "e01_split_missing": (1, 1, 3),
        "ext4_bad_entry": (6, 1, 1),
        "ext4_names": (6, 0, 5),
        "fat32_damaged": (5, 1, 3),
        "folder": (5, 0, 6),
        "gpt_damaged": (2, 0, 2),
        "mbr_past_end": (3, 1, 5),
        "ntfs_damaged": (7, 0, 3),
    }


def test_sparse_file_read_at_its_end() -> None:
    results, _ = _listing(CASES["folder"])
    sparse = next(r for r in results if isinstance(r, Item) and r.path == "sparse.bin")
    assert sparse.size == SPARSE_BYTES
    tail = pic(94)
    with sparse.open() as stream:
        stream.seek(SPARSE_BYTES - len(tail))
        assert stream.read() == tail
        stream.seek(SPARSE_BYTES // 2)
        assert stream.read(1 << 20) == bytes(1 << 20)


def test_non_utf8_names_round_trip_to_bytes() -> None:
    results, _ = _listing(CASES["folder"])
    names = {os.fsencode(r.path) for r in results if isinstance(r, Item)}
    assert b"caf\xe9.png" in names and b"tab\tbell\x07\x1b[2J.png" in names
    results, _ = _listing(CASES["ext4_names"])
    names = {r.path.encode("utf-8", "surrogateescape") for r in results if isinstance(r, Item)}
    assert b"EXT/caf\xe9.png" in names


def test_fat_chain_cycle_reads_its_prefix() -> None:
    results, _ = _listing(CASES["fat32_damaged"])
    chain = next(r for r in results if isinstance(r, Item) and r.path == "FAT32/chain.png")
    planted = pic(30) + pic(31) + pic(32)
    assert chain.size == len(planted)
    with chain.open() as stream:
        # Four 512-byte clusters, then the chain points back to its first cluster.
        assert stream.read() == planted[:2048]


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("ext4_names", "EXT/caf\udce9.png"),  # listed by Sleuth Kit only
        ("ntfs_damaged", "NTFS/sur_\ud800.png"),  # a name that is not valid UTF-16
        ("ntfs_damaged", "NTFS/broken.png"),  # a BAAD MFT entry
        ("ntfs_damaged", "NTFS/gone/inner/d3.png"),  # inside a deleted directory
        ("mbr_past_end", "p1/FAT12/one.png"),  # partition table read directly, TSK content
        ("e01_cut", "FAT32/first.png"),  # chunks read without the chunk table
    ],
)
def test_damaged_items_reopen_by_provenance(name: str, path: str) -> None:
    # The review app and exports reopen an item long after the scan, by its path.
    case = CASES[name]
    with open_item(FOLDER / case.evidence, path) as stream:
        assert hashlib.md5(stream.read()).hexdigest() == case.must_find[path]
