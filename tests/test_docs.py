"""The README documents every command and every hash-set format vigil has."""

from __future__ import annotations

import re

import typer.main

from tests_support import REPO
from vigil.cli import app
from vigil.hashsets import formats


def _commands(group: typer.Typer) -> set[str]:
    click_group = typer.main.get_command(group)
    return set(click_group.commands)  # type: ignore[attr-defined]


def test_every_top_level_command_is_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    missing = [c for c in sorted(_commands(app)) if f"vigil {c}" not in readme]
    assert missing == []


def test_every_hash_set_format_is_in_the_readme_and_formats_doc() -> None:
    readme = (REPO / "README.md").read_text()
    table = set(re.findall(r"^\| `([a-z0-9_]+)` \|", readme, flags=re.M))
    assert set(formats.FORMATS) <= table
    doc = (REPO / "docs" / "formats.md").read_text()
    assert [f for f in formats.FORMATS if f not in doc] == []
