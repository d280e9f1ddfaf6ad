"""Links stored when contents enter the lab index: once per pair, whatever the order."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import delete, select
from test_pdq_files import near, row

from vigil.errors import UsageError
from vigil.intel import links as links_module
from vigil.intel.index import index_rows
from vigil.intel.links import MARK, checked_upto
from vigil.intel.shared import shared_with_others
from vigil.matching.pdq_index import brute_force
from vigil.web.lab import open_lab
from vigil.web.labschema import intel_contents, intel_links, intel_marks

RNG_SEED = 1818
EDITED_BITS = tuple(range(0, 256, 10))  # 26 bits: an edited copy, still within 31


def link_list(lab, case: str, max_distance: int = 31) -> list[tuple[str, str, str, int, str]]:
    return [
        (s.content.sha256[-3:], k.case, k.basis, k.distance, k.other.sha256[-3:])
        for s in shared_with_others(lab, case, max_distance)
        for k in s.links
    ]


def stored(lab) -> list[tuple[int, int, int]]:
    with lab.connect() as conn:
        rows = conn.execute(
            select(intel_links.c.low_id, intel_links.c.high_id, intel_links.c.distance)
            .order_by(intel_links.c.low_id, intel_links.c.high_id)
        )
        return [tuple(r) for r in rows]


def two_cases() -> dict[str, list[dict]]:
    """R holds two originals and a shared picture; Q a near copy, an edited copy, the same
    shared picture, and a picture of its own."""
    codes = np.random.default_rng(RNG_SEED).integers(0, 256, (4, 32), dtype=np.uint8)
    return {
        "R": [row(0x101, codes[0]), row(0x102, codes[1]), row(0x103, codes[2])],
        "Q": [row(0x201, near(codes[0], (4, 90, 201))), row(0x202, near(codes[1], EDITED_BITS)),
              row(0x103, codes[2]), row(0x204, codes[3])],
    }


R_TO_Q = [("101", "Q", "perceptual", 3, "201"), ("102", "Q", "perceptual", 26, "202"),
          ("103", "Q", "exact", 0, "103")]
Q_TO_R = [("103", "R", "exact", 0, "103"), ("201", "R", "perceptual", 3, "101"),
          ("202", "R", "perceptual", 26, "102")]


@pytest.mark.parametrize("first", ["R", "Q"])
def test_exact_and_edited_copies_link_both_ways_whichever_comes_first(
    tmp_path: Path, first: str
) -> None:
    lab = open_lab(f"sqlite:///{tmp_path / 'lab.sqlite'}")
    cases = two_cases()
    second = "Q" if first == "R" else "R"
    one = index_rows(lab, first, "E1", cases[first])
    two = index_rows(lab, second, "E1", cases[second])
    # The first exhibit finds nothing older; the second finds both pairs.
    assert (one.checked, one.links) == (len(cases[first]), 0)
    assert (two.checked, two.links) == (len(cases[second]) - 1, 2)  # 0x103 was not new
    assert sorted(link_list(lab, "R")) == R_TO_Q
    assert sorted(link_list(lab, "Q")) == Q_TO_R
    assert len(stored(lab)) == 2  # one row per pair
    # A smaller distance asked: the edited copy is left out; more than stored: refused.
    assert sorted(link_list(lab, "Q", 10)) == Q_TO_R[:2]
    with pytest.raises(UsageError, match="up to PDQ distance 31"):
        shared_with_others(lab, "Q", 32)
    lab.dispose()


def test_removing_an_exhibit_removes_its_links(tmp_path: Path) -> None:
    lab = open_lab(f"sqlite:///{tmp_path / 'lab.sqlite'}")
    cases = two_cases()
    index_rows(lab, "R", "E1", cases["R"])
    index_rows(lab, "Q", "E1", cases["Q"])
    index_rows(lab, "R", "E1", [])  # R's exhibit emptied (re-indexed with nothing)
    assert link_list(lab, "Q") == [] and link_list(lab, "R") == []
    index_rows(lab, "R", "E1", cases["R"])  # back: the stored pairs show again
    assert sorted(link_list(lab, "Q")) == Q_TO_R
    lab.dispose()


def test_a_lab_indexed_before_links_is_caught_up_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(links_module, "_CATCH_UP_BLOCK", 2)  # several catch-up steps
    lab = open_lab(f"sqlite:///{tmp_path / 'lab.sqlite'}")
    cases = two_cases()
    index_rows(lab, "R", "E1", cases["R"])
    index_rows(lab, "Q", "E1", cases["Q"])
    found = stored(lab)
    # What a lab indexed before this change holds: contents and files, no links, no mark.
    with lab.begin() as conn:
        conn.execute(delete(intel_links))
        conn.execute(delete(intel_marks))
    assert sorted(link_list(lab, "Q")) == Q_TO_R  # the first query catches up
    assert stored(lab) == found
    with lab.connect() as conn:
        top = conn.execute(select(intel_contents.c.id).order_by(intel_contents.c.id.desc()))
        assert checked_upto(conn) == top.first()[0] == 6
        assert conn.execute(select(intel_marks.c.name)).scalars().all() == [MARK]
    lab.dispose()


# One process indexing one exhibit: it waits for ``go`` so both search at the same time.
_WORKER = """
import json, sys, time
from pathlib import Path
from vigil.intel.index import index_rows
from vigil.web.lab import open_lab
url, case, rows, ready, go = sys.argv[1:]
lab = open_lab(url)
Path(ready).touch()
while not Path(go).exists():
    time.sleep(0.01)
index_rows(lab, case, "E1", json.loads(Path(rows).read_text()))
lab.dispose()
"""


def test_two_exhibits_indexed_at_once_by_two_processes_are_linked(tmp_path: Path) -> None:
    rng = np.random.default_rng(RNG_SEED)
    count = 1000
    codes = rng.integers(0, 256, (2 * count, 32), dtype=np.uint8)
    # B holds near copies (5 bits) of 40 of A's pictures; everything else is random.
    copies = {i: near(codes[i], (1, 50, 99, 150, 250)) for i in range(0, count, 25)}
    a_rows = [row(1_000_000 + i, codes[i]) for i in range(count)]
    b_rows = [row(2_000_000 + i, copies.get(i, codes[count + i])) for i in range(count)]
    url = f"sqlite:///{tmp_path / 'lab.sqlite'}"
    open_lab(url).dispose()  # migrated once, before both
    go = tmp_path / "go"
    workers = []
    for case, rows in (("A", a_rows), ("B", b_rows)):
        (tmp_path / f"{case}.json").write_text(json.dumps(rows))
        workers.append(subprocess.Popen(
            [sys.executable, "-c", _WORKER, url, case, str(tmp_path / f"{case}.json"),
             str(tmp_path / f"ready-{case}"), str(go)],
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        ))
    while not all((tmp_path / f"ready-{c}").exists() for c in "AB"):
        assert all(w.poll() is None for w in workers)
        time.sleep(0.01)
    go.touch()
    assert [w.wait(120) for w in workers] == [0, 0]
    lab = open_lab(url)
    with lab.connect() as conn:
        ids = dict(conn.execute(select(intel_contents.c.sha256, intel_contents.c.id)).all())
    everything = np.concatenate([codes[:count], np.stack([
        copies.get(i, codes[count + i]) for i in range(count)])])
    bank_ids = np.array([ids[r["sha256"]] for r in a_rows + b_rows])
    expected = sorted(
        (min(bank_ids[q], hit), max(bank_ids[q], hit), d)
        for q in range(len(everything))
        for hit, d in brute_force(everything, bank_ids, everything[q].tobytes().hex(), 31)
        if hit < bank_ids[q]
    )
    assert len(expected) == 40
    assert stored(lab) == expected
    assert [k.distance for s in shared_with_others(lab, "B") for k in s.links] == [5] * 40
    lab.dispose()
