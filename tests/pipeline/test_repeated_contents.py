"""A content met again under one top-level item is walked once. A repeated container
gets a record pointing at its first copy; a repeated unknown binary that held nothing
(searched for pictures, none found) gets none: there is nothing to point to."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

from tests_support import InProcessVigil


def test_repeats_of_an_empty_binary_are_silent_and_of_a_container_recorded(
    tmp_path: Path,
) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("a.txt", "member")
    blob = os.urandom(3000)
    evidence = tmp_path / "ev"
    evidence.mkdir()
    with zipfile.ZipFile(evidence / "outer.zip", "w") as z:
        for i in range(3):
            z.writestr(f"blob{i}.bin", blob)
            z.writestr(f"inner{i}.zip", inner.getvalue())
    vigil = InProcessVigil(tmp_path / "home")
    vigil("scan", str(evidence), "--case", "C", "--exhibit", "E", "-q", "--workers", "1",
          "--executor", "threads")
    vigil("report", "C", "--format", "json", "--out", str(tmp_path / "rep"))
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert sorted(i["path"] for i in report["items"]) == sorted(
        ["outer.zip", "outer.zip!inner0.zip!a.txt"]
        + [f"outer.zip!blob{i}.bin" for i in range(3)]
        + [f"outer.zip!inner{i}.zip" for i in range(3)]
    )
    assert sorted((e["location"], e["reason"]) for e in report["errors"]) == [
        (f"outer.zip!inner{i}.zip",
         "same content as outer.zip!inner0.zip: its members are recorded there")
        for i in (1, 2)
    ]
