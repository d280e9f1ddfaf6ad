"""A worker that outlives a scan (threads in one process here; a Dask worker in a lab)
keeps its matchers only while the hash-set library is unchanged."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests_support import InProcessVigil


def test_a_set_imported_between_two_scans_is_matched_by_the_second(tmp_path: Path) -> None:
    evidence = tmp_path / "ev"
    evidence.mkdir()
    content = b"known content\n"
    (evidence / "a.txt").write_bytes(content)
    vigil = InProcessVigil(tmp_path / "home")
    scan = ("--exhibit", "E", "--json", "--workers", "1", "--executor", "threads")
    first = json.loads(vigil("scan", str(evidence), "--case", "C1", *scan))
    assert first["matches"] == 0
    known = tmp_path / "known.md5"
    known.write_text(f"{hashlib.md5(content).hexdigest()}  a.txt\n")
    vigil("hashset", "import", str(known), "--name", "k", "--grade", "C", "--scheme", "uk")
    second = json.loads(vigil("scan", str(evidence), "--case", "C2", *scan))
    assert second["matches"] == 1
