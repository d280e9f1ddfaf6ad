"""Shared test fixtures: the read-only ../shared data and an isolated VIGIL_HOME."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tests_support import SHARED


@pytest.fixture
def shared() -> Path:
    """The shared, read-only fixture tree beside the repository."""
    assert SHARED.is_dir(), f"shared fixtures not found at {SHARED}"
    return SHARED


@pytest.fixture
def vigil_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty VIGIL_HOME for one test."""
    home = tmp_path / "vigil-home"
    home.mkdir()
    monkeypatch.setenv("VIGIL_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """URL of a real PostgreSQL server started for this test session."""
    from postgres_server import postgres_server

    with postgres_server() as url:
        yield url
