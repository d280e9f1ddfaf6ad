"""The review app forms a case's series once per case state, not once per request."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from http_client import BASE, client, csrf_of, login
from review_harness import PASSWORDS
from typer.testing import CliRunner

from vigil.cli import app as cli
from vigil.web.app import AppSettings, create_app
from vigil.web.lab import default_lab_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from series_support import write_series_evidence  # noqa: E402

CASE = "SERIES-CACHE"


def _ungraded(page: str, series_id: str) -> str:
    stack = re.search(rf"data-series=\"{series_id}\".*?</li>", page, re.S)
    assert stack is not None
    found = re.search(r'class="ungraded"[^>]*>(\d+)<', stack.group(0))
    assert found is not None
    return found.group(1)


def test_two_requests_one_build_a_grade_recounts_a_scan_rebuilds(tmp_path: Path) -> None:
    home, evidence = tmp_path / "home", tmp_path / "evidence"
    home.mkdir()
    write_series_evidence(evidence)
    runner, env = CliRunner(), {"VIGIL_HOME": str(home), "VIGIL_EXAMINER": "tester"}

    def vigil(*args: str, stdin: str | None = None) -> None:
        result = runner.invoke(cli, list(args), env=env, input=stdin)
        assert result.exit_code == 0, (args, result.output, result.exception)

    vigil("scan", str(evidence), "--case", CASE, "--exhibit", "EX1", "-q")
    vigil("user", "add", "alice", "--role", "examiner", "--password-stdin",
          stdin=PASSWORDS["alice"] + "\n")
    vigil("user", "assign", "alice", CASE)
    guard = create_app(AppSettings(home, default_lab_url(home)))
    cache = guard.app.state.series_cache  # type: ignore[attr-defined]
    c = client(guard)
    assert login(c, "alice", PASSWORDS["alice"]).status_code == 303

    first = c.get(f"/cases/{CASE}/series")
    second = c.get(f"/cases/{CASE}/series")
    assert first.status_code == second.status_code == 200
    assert first.text.count('class="stack') == second.text.count('class="stack') > 0
    assert cache.builds == 1

    series_id = re.search(r'data-series="(camera-[0-9a-f]{16})"', first.text).group(1)  # type: ignore[union-attr]
    size = _ungraded(first.text, series_id)
    token = csrf_of(c)
    graded = c.post(f"/cases/{CASE}/series/{series_id}/grades", json={"grade": "C"},
                    headers={"X-CSRF-Token": token, "Origin": BASE})
    assert graded.status_code == 200, graded.text
    assert len(graded.json()["graded"]) == int(size) > 1
    # The grade is counted on the next page; the series themselves were not formed again
    # (grading the stack found its members in the cache too).
    after = c.get(f"/cases/{CASE}/series")
    assert _ungraded(after.text, series_id) == "0"
    assert cache.builds == 1

    # A second exhibit changes the store: the series are formed again, once.
    vigil("scan", str(evidence), "--case", CASE, "--exhibit", "EX2", "-q")
    c.get(f"/cases/{CASE}/series")
    c.get(f"/cases/{CASE}/series")
    assert cache.builds == 2
