"""Fixtures for the review-app tests: one scanned benign case, a live server, Chromium."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from review_harness import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    PASSWORDS,
    Lab,
    Server,
    build_lab,
    login,
    start_server,
)


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    """A scanned case of 12 benign pictures plus a near-duplicate trio and an EXIF picture."""
    built = build_lab(tmp_path_factory.mktemp("review"), pictures=12)
    # Make one content of the other case "known" (a hash-set match) for the metadata-only test.
    with sqlite3.connect(built.home / "cases" / "OTHER-1.sqlite") as conn:
        conn.execute(
            "INSERT INTO matches (content_id, hashset, entry_id, grade, basis, algorithm, "
            "known_good) VALUES ((SELECT MIN(id) FROM contents), 'demo-known', 1, 'A', "
            "'exact', 'md5', 0)"
        )
    return built


@pytest.fixture(scope="session")
def server(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``vigil serve`` on a free port over the lab's VIGIL_HOME."""
    running = start_server(lab.env, tmp_path_factory.mktemp("log") / "serve.log")
    yield running
    running.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium driven by Playwright; fails (never skips) when it is missing."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: object, server: Server) -> Iterator[object]:
    """A fresh browser context and page (no cookies)."""
    context = browser.new_context()  # type: ignore[attr-defined]
    pg = context.new_page()
    yield pg
    context.close()


@pytest.fixture
def alice(page: object, server: Server) -> object:
    """A page logged in as alice (examiner on the test case)."""
    login(page, server.url, "alice", PASSWORDS["alice"])
    assert page.url == server.url + "/"  # type: ignore[attr-defined]
    return page
