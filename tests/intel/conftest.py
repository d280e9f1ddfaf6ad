"""A lab of three scanned cases sharing generated pictures, built once per session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))

from intel_evidence import (
    PASSWORD,
    IntelLab,
    alpha_files,
    bravo_files,
    charlie_files,
    scan,
    write_folder,
)

from tests_support import InProcessVigil
from vigil.web.accounts import add_user, assign
from vigil.web.lab import default_lab_url, open_lab


@pytest.fixture(scope="session")
def intel_lab(tmp_path_factory: pytest.TempPathFactory) -> IntelLab:
    base = tmp_path_factory.mktemp("intel")
    home = base / "home"
    home.mkdir()
    vigil = InProcessVigil(home)
    evidence = {
        "ALPHA": write_folder(base / "alpha", alpha_files()),
        "BRAVO": write_folder(base / "bravo", bravo_files()),
        "CHARLIE": write_folder(base / "charlie", charlie_files()),
    }
    for case, folder in evidence.items():
        scan(vigil, folder, case, f"{case[0]}1")
    lab = open_lab(default_lab_url(home))
    add_user(lab, "root", "admin", PASSWORD)
    add_user(lab, "alice", "examiner", PASSWORD)
    add_user(lab, "bob", "examiner", PASSWORD)
    for name, case in (("root", "ALPHA"), ("alice", "ALPHA"), ("alice", "BRAVO"), ("bob", "ALPHA")):
        assign(lab, name, case, "test")
    lab.dispose()
    return IntelLab(home, vigil, evidence)
