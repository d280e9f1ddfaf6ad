"""Same evidence, hash sets and settings: byte-identical JSON apart from ``run``."""

from __future__ import annotations

from vigil.report.render import render_json


def test_two_scans_give_identical_reports_except_run(case: dict) -> None:
    first, second = (dict(case["plain"][k]) for k in ("first", "second"))
    assert first["run"] != second["run"]  # different store, different times
    first.pop("run")
    second.pop("run")
    assert render_json(first).encode() == render_json(second).encode()
    assert len(first["items"]) == 20
