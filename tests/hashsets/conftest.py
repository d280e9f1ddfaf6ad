"""Paths and expectations for the shared hash-set fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "hashsets"
MANIFEST = json.loads((FIXTURES / "expected_manifest.json").read_text(encoding="utf-8"))

# fixture file -> (format, group, fields the format carries)
FIXTURE_FILES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "NSRLFile.txt": ("nsrl_v2", "known", ("md5", "sha1", "size")),
    "nsrl_rdsv3_minimal_sample.db": ("nsrl_v3", "known", ("md5", "sha1", "sha256", "size")),
    "encase_known.hash": ("encase", "known", ("md5",)),
    "encase_notable.hash": ("encase", "notable", ("md5",)),
    "md5sum_style.md5": ("md5sum", "notable", ("md5",)),
    "notable.hashdeep": ("hashdeep", "notable", ("md5", "sha256", "size")),
    "plain_md5.txt": ("plain", "notable", ("md5",)),
    "plain_sha1_upper_crlf.txt": ("plain", "notable", ("sha1",)),
    "plain_sha256.txt": ("plain", "notable", ("sha256",)),
    "vics_1.3_media.json": ("vics", "notable", ("md5", "sha1", "size")),
    "vics_2.0_media.json": ("vics", "notable", ("md5", "sha1", "size")),
    "vics_2.0_case.json": ("vics", "notable", ("md5", "sha1", "size")),
    "xways_known_md5.txt": ("xways", "known", ("md5",)),
    "xways_notable_sha1.txt": ("xways", "notable", ("sha1",)),
}


def manifest_entries(group: str) -> list[dict[str, object]]:
    """Return the manifest entries of a fixture group (known = 5, notable = 14)."""
    if group == "known":
        return list(MANIFEST["known_good"])
    return list(MANIFEST["notable"]) + list(MANIFEST["decoys"])


def expected_rows(group: str, fields: tuple[str, ...]) -> set[tuple[object, ...]]:
    """The (md5, sha1, sha256, size) rows a reader must yield, None where not carried."""
    return {
        tuple(entry[f] if f in fields else None for f in ("md5", "sha1", "sha256", "size"))
        for entry in manifest_entries(group)
    }


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The shared hash-set fixture folder; its absence fails the tests."""
    assert FIXTURES.is_dir(), f"shared fixtures missing at {FIXTURES}"
    return FIXTURES
