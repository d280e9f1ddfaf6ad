"""X-Forwarded-For against a real ``vigil serve``: ignored unless a proxy is trusted."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import httpx
import pytest
from review_harness import Lab, start_server


def _attempt(url: str, name: str, forwarded: str) -> int:
    with httpx.Client(base_url=url) as c:
        page = c.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        cookie = page.headers["set-cookie"].split(";")[0]
        answer = c.post(
            "/login",
            data={"name": name, "password": "wrong-password-here", "csrf": token},
            headers={"cookie": cookie, "x-forwarded-for": forwarded, "x-real-ip": forwarded},
        )
        return answer.status_code


def _remotes(lab: Lab, name: str) -> list[str]:
    with sqlite3.connect(lab.home / "lab.sqlite") as conn:
        rows = conn.execute("SELECT remote FROM login_attempts WHERE name = ?", (name,))
        return [r[0] for r in rows]


@pytest.mark.parametrize(
    ("options", "expected"),
    [((), "127.0.0.1"), (("--trusted-proxy", "127.0.0.1"), "203.0.113.7")],
)
def test_forwarded_for_is_believed_only_from_a_trusted_proxy(
    lab: Lab, tmp_path: Path, options: tuple[str, ...], expected: str
) -> None:
    server = start_server(lab.env, tmp_path / "serve.log", *options)
    name = f"probe-{len(options)}"
    try:
        assert _attempt(server.url, name, "203.0.113.7") == 401
    finally:
        server.stop()
    assert _remotes(lab, name) == [expected]
