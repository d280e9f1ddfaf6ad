"""The content index in a PostgreSQL lab store (``--lab-db``), cases in SQLite."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from intel_evidence import PASSWORD, landscape, near_copy, near_original, write_folder

from postgres_server import create_database
from tests_support import InProcessVigil
from vigil.store.api import normalise_url
from vigil.web.accounts import add_user, assign
from vigil.web.lab import open_lab


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_scans_index_into_postgres_and_intel_reads_it(postgres: str, tmp_path: Path) -> None:
    lab_url = create_database(postgres, "intel_lab")
    home = tmp_path / "home"
    home.mkdir()
    vigil = InProcessVigil(home)
    folders = {
        "P1": write_folder(tmp_path / "p1", {"a.jpg": landscape(103), "n.jpg": near_original()}),
        "P2": write_folder(tmp_path / "p2", {"b.jpg": landscape(103), "m.jpg": near_copy()}),
    }
    for case, folder in folders.items():
        out = vigil(
            "scan", str(folder), "--case", case, "--exhibit", "E", "-q", "--json",
            "--executor", "threads", "--workers", "1", "--lab-db", lab_url,
        )
        assert json.loads(out)["lab_index"]["contents"] == 2
    lab = open_lab(normalise_url(lab_url))
    add_user(lab, "alice", "examiner", PASSWORD)
    for case in folders:
        assign(lab, "alice", case, "test")
    lab.dispose()
    view = json.loads(vigil("intel", "P1", "--user", "alice", "--json", "--lab-db", lab_url))
    got = [
        (row["sha256"], k["case"], k["basis"], k["distance"])
        for row in view["shared"]
        for k in row["links"]
    ]
    assert sorted(got) == sorted(
        [(sha(landscape(103)), "P2", "exact", 0), (sha(near_original()), "P2", "perceptual", 2)]
    )
    assert not (home / "lab.sqlite").exists()
