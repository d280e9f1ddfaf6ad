"""Paths shared by test modules (importable because tests/ is on sys.path via conftest)."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / ".." / "shared").resolve()
