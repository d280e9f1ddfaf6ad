"""The lab's PDQ files: one delta per indexed exhibit, merged, caught up, exact."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, insert, select

from vigil.intel import pdq_files
from vigil.intel.index import index_rows
from vigil.intel.pdq_files import PdqFiles, lab_folder, search_all
from vigil.intel.shared import shared_with_others
from vigil.matching.pdq_index import PdqIndex, brute_force
from vigil.web.lab import open_lab
from vigil.web.labschema import intel_contents

RNG_SEED = 18


def row(number: int, code: np.ndarray | None, quality: int = 90) -> dict:
    sha = f"{number:064x}"
    return {"sha256": sha, "sha1": sha[:40], "md5": sha[:32], "size": 10,
            "media": "image" if code is not None else "video",
            "pdq": code.tobytes().hex() if code is not None else None,
            "pdq_quality": quality if code is not None else None, "n": 1}


def near(code: np.ndarray, bits: tuple[int, ...]) -> np.ndarray:
    out = code.copy()
    for bit in bits:
        out[bit // 8] ^= np.uint8(1 << (bit % 8))
    return out


def entries(files: PdqFiles) -> tuple[list[int], int]:
    ids = [int(i) for ix in files.open() for i in ix.ids]
    return sorted(ids), len(files.manifest().segments)


def test_deltas_are_merged_and_hold_every_usable_picture_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pdq_files, "MAX_SEGMENTS", 3)
    lab = open_lab(f"sqlite:///{tmp_path / 'lab.sqlite'}")
    rng = np.random.default_rng(RNG_SEED)
    codes = rng.integers(0, 256, (10 * 30, 32), dtype=np.uint8)
    number = 0
    for exhibit in range(10):
        rows = []
        for _ in range(30):
            number += 1
            rows.append(row(number, codes[number - 1]))
        rows.append(row(1000 + exhibit, codes[exhibit], quality=10))  # flat: not usable
        rows.append(row(2000 + exhibit, None))  # a video: no PDQ
        if exhibit:
            rows.append(row(1, codes[0]))  # already in the lab: no new content
        index_rows(lab, f"CASE-{exhibit % 3}", f"E{exhibit}", rows)
    files = PdqFiles(lab_folder(lab))  # type: ignore[arg-type]
    with lab.connect() as conn:
        usable = conn.execute(
            select(intel_contents.c.id).where(intel_contents.c.pdq_quality >= 50)
        ).scalars().all()
        total, top = conn.execute(
            select(func.count(), func.max(intel_contents.c.id))
        ).one()
    ids, segments = entries(files)
    assert ids == sorted(usable) and len(ids) == 300
    assert segments <= 3
    manifest = files.manifest()
    assert (manifest.covered, manifest.rows) == (top, total) == (top, 320)
    assert sorted(p.name for p in files.folder.glob("segment-*.idx")) == sorted(
        name for name, _c in manifest.segments
    )
    # The segments together answer exactly what one brute-force scan of the lab does.
    queries = np.stack([near(codes[5], (1, 70, 200)), codes[77], rng.integers(0, 256, 32,
                                                                           dtype=np.uint8)])
    at, found, distances = search_all(files.open(), queries, 31)
    got = sorted(zip(at.tolist(), found.tolist(), distances.tolist(), strict=True))
    with lab.connect() as conn:
        lab_rows = conn.execute(
            select(intel_contents.c.id, intel_contents.c.pdq)
            .where(intel_contents.c.pdq_quality >= 50).order_by(intel_contents.c.id)
        ).all()
    bank_ids = np.array([r.id for r in lab_rows])
    bank = np.frombuffer(bytes.fromhex("".join(r.pdq for r in lab_rows)), np.uint8)
    bank = bank.reshape(-1, 32)
    expected = sorted(
        (q, hit, d)
        for q in range(len(queries))
        for hit, d in brute_force(bank, bank_ids, queries[q].tobytes().hex(), 31)
    )
    assert got == expected
    assert [g[0] for g in got] == [0, 1]  # the near copy and the picture itself
    lab.dispose()


def test_rows_the_files_missed_are_caught_up_before_a_query(tmp_path: Path) -> None:
    lab = open_lab(f"sqlite:///{tmp_path / 'lab.sqlite'}")
    rng = np.random.default_rng(RNG_SEED)
    code = rng.integers(0, 256, 32, dtype=np.uint8)
    index_rows(lab, "R", "R1", [row(1, code)])
    # A content written by a scan whose file update failed: in the table only.
    with lab.begin() as conn:
        conn.execute(insert(intel_contents).values(
            {k: v for k, v in row(2, near(code, (3, 4))).items() if k != "n"}))
    files = PdqFiles(lab_folder(lab))  # type: ignore[arg-type]
    assert entries(files) == ([1], 1)
    files.catch_up(lab)
    assert entries(files) == ([1, 2], 2)
    assert files.catch_up(lab).covered == 2  # nothing more to add
    assert entries(files) == ([1, 2], 2)
    lab.dispose()


def test_a_picture_no_other_case_holds_any_more_is_not_linked(tmp_path: Path) -> None:
    lab = open_lab(f"sqlite:///{tmp_path / 'lab.sqlite'}")
    rng = np.random.default_rng(RNG_SEED)
    original = rng.integers(0, 256, 32, dtype=np.uint8)
    index_rows(lab, "R", "R1", [row(1, original), row(3, None)])
    index_rows(lab, "Q", "Q1", [row(2, near(original, (9, 99, 199))), row(3, None)])
    links = [
        (s.content.sha256[-1], k.case, k.basis, k.distance, k.other.sha256[-1])
        for s in shared_with_others(lab, "Q")
        for k in s.links
    ]
    assert links == [("2", "R", "perceptual", 3, "1"), ("3", "R", "exact", 0, "3")]
    # R1 re-indexed without those contents: the files still hold the picture, the
    # holders do not, so nothing links any more.
    index_rows(lab, "R", "R1", [])
    assert PdqIndex.load(next(PdqFiles(lab_folder(lab)).folder.glob("*.idx"))).ids.tolist()
    assert shared_with_others(lab, "Q") == []
    lab.dispose()


def test_in_memory_lab_has_no_folder_and_still_links() -> None:
    lab = open_lab("sqlite://")
    rng = np.random.default_rng(RNG_SEED)
    original = rng.integers(0, 256, 32, dtype=np.uint8)
    assert lab_folder(lab) is None
    index_rows(lab, "R", "R1", [row(1, original)])
    index_rows(lab, "Q", "Q1", [row(2, near(original, (0,)))])
    assert [(k.case, k.distance) for s in shared_with_others(lab, "Q") for k in s.links] == [
        ("R", 1)
    ]
    lab.dispose()


def test_files_that_cannot_be_written_fall_back_to_the_lab_store(tmp_path: Path) -> None:
    lab = open_lab(f"sqlite:///{tmp_path / 'lab.sqlite'}")
    (tmp_path / "lab.sqlite.intel").write_text("a file where the folder should be")
    rng = np.random.default_rng(RNG_SEED)
    original = rng.integers(0, 256, 32, dtype=np.uint8)
    index_rows(lab, "R", "R1", [row(1, original)])  # the scan's step does not fail
    index_rows(lab, "Q", "Q1", [row(2, near(original, (5, 6)))])
    assert [(k.case, k.distance) for s in shared_with_others(lab, "Q") for k in s.links] == [
        ("R", 2)
    ]
    lab.dispose()
