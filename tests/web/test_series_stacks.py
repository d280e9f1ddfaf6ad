"""A series shown as one stack in the review app and graded at once, in Chromium."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from review_harness import PASSWORDS, Server, login, start_server
from typer.testing import CliRunner

from vigil.cli import app

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from series_support import write_series_evidence  # noqa: E402

CASE = "SERIES-1"


@pytest.fixture(scope="module")
def stack_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path, dict]]:
    root = tmp_path_factory.mktemp("stacks")
    home, evidence = root / "home", root / "evidence"
    home.mkdir()
    write_series_evidence(evidence)
    # In this process (faster than one process per command); the server is its own.
    runner, env = CliRunner(), {"VIGIL_HOME": str(home), "VIGIL_EXAMINER": "tester"}
    for args, stdin in (
        (["scan", str(evidence), "--case", CASE, "--exhibit", "EX1", "-q"], None),
        (["user", "add", "alice", "--role", "examiner", "--password-stdin"],
         PASSWORDS["alice"] + "\n"),
        (["user", "assign", "alice", CASE], None),
        (["series", CASE, "--json"], None),
    ):
        result = runner.invoke(app, args, env=env, input=stdin)
        assert result.exit_code == 0, (args, result.output, result.exception)
    listed = json.loads(result.output)
    server = start_server({**os.environ, **env}, root / "serve.log")
    yield server, home / "cases" / f"{CASE}.sqlite", listed
    server.stop()


def _newest(db: Path) -> dict[int, tuple[str | None, str]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT content_id, grade, user FROM grades WHERE id IN "
            "(SELECT MAX(id) FROM grades GROUP BY content_id)"
        ).fetchall()
    return {cid: (grade, user) for cid, grade, user in rows}


def _audit(db: Path, action: str) -> list[dict]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT details FROM audit_log WHERE action = ? ORDER BY seq", (action,)
        ).fetchall()
    return [json.loads(d) for (d,) in rows]


def test_grade_a_camera_series_as_one_stack_then_undo(
    browser: object, stack_lab: tuple[Server, Path, dict]
) -> None:
    server, db, listed = stack_lab
    camera = next(s for s in listed["series"] if s["facts"].get("body_serial") == "SN-A"
                  and s["kind"] == "camera")
    members = [m["content_id"] for m in camera["members"]]
    assert len(members) == 5  # no hash set here: the "known" picture is unknown too
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    try:
        login(page, server.url, "alice", PASSWORDS["alice"])
        page.goto(f"{server.url}/cases/{CASE}/series")
        stacks = page.locator("#stacks li.stack")
        ids = [stacks.nth(i).get_attribute("data-series") for i in range(stacks.count())]
        assert ids == [s["id"] for s in listed["series"]]
        shown = page.locator(f"li.stack[data-series='{camera['id']}']")
        assert shown.locator(".pile img").count() == 3
        assert "body serial SN-A" in shown.inner_text()
        assert shown.locator(".ungraded").inner_text() == "5"
        for _ in range(ids.index(camera["id"])):
            page.keyboard.press("j")
        assert "current" in (shown.get_attribute("class") or "")
        page.keyboard.press("c")
        page.wait_for_selector("body[data-acked='1']", state="attached", timeout=10_000)
        newest = _newest(db)
        assert {c: newest[c] for c in members} == {c: ("C", "alice") for c in members}
        assert len(newest) == len(members)  # nothing outside the stack was graded
        logged = _audit(db, "grade-series")
        assert logged == [
            {"contents": [c], "grade": "C", "scheme": "uk", "series": camera["id"]}
            for c in members
        ]
        assert shown.locator(".ungraded").inner_text() == "0"

        with page.expect_navigation():
            page.keyboard.press("u")
        deadline = time.monotonic() + 10
        while any(_newest(db)[c][0] is not None for c in members):
            assert time.monotonic() < deadline, "undo did not restore the stack"
            time.sleep(0.1)
        assert page.locator(f"li.stack[data-series='{camera['id']}'] .ungraded").inner_text() \
            == "5"

        token = page.get_attribute("meta[name='csrf-token']", "content")
        wrong = page.request.post(
            f"{server.url}/cases/{CASE}/series/camera-0000000000000000/grades",
            data=json.dumps({"grade": "A"}),
            headers={"Content-Type": "application/json", "X-CSRF-Token": token,
                     "Origin": server.url},
        )
        assert wrong.status == 400
        refused = _audit(db, "grade-refused")[-1]
        assert refused["reason"] == "no series 'camera-0000000000000000' in this case"
    finally:
        context.close()
