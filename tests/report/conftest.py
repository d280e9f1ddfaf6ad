"""A reviewed, signed demo case built once through the real command line.

Benign evidence from ``vigil.demo``; the case is scanned twice into two stores (for the
reproducibility test), then given a header, review grades and a signed report in every
format.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from store_forge import reseal
from tests_support import InProcessVigil
from vigil.demo import build_demo_evidence, write_demo_hashsets
from vigil.hashing.crypto import digest_stream
from vigil.hashing.pdq import pdq_for_file

PHOTODNA = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMA=="


@pytest.fixture
def make_vigil() -> type[InProcessVigil]:
    """The in-process ``vigil`` runner class, for tests that need their own home."""
    return InProcessVigil


def _md5(path: Path) -> str:
    with path.open("rb") as f:
        return digest_stream(f).md5


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("report")
    home = base / "home"
    home.mkdir()
    vigil = InProcessVigil(home)
    evidence = base / "evidence"
    roles = build_demo_evidence(evidence)
    known, _good = write_demo_hashsets(evidence, roles, base / "sets")
    # A second notable set that carries a PhotoDNA value (opaque text, passed through).
    meadow = evidence / "Users/alex/Pictures/misc/meadow.tiff"
    pdna = base / "sets" / "pdna.json"
    pdna.write_text(
        json.dumps(
            {
                "@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/"
                "2.0.xml/UK/$metadata#Media",
                "value": [{"MediaID": 1, "Category": 3, "MD5": _md5(meadow), "PhotoDNA": PHOTODNA}],
            }
        )
    )
    uk = ["--scheme", "uk", "--category-map", "1=A,2=B,3=C"]
    vigil("hashset", "import", str(known), "--name", "known", *uk)
    vigil("hashset", "import", str(pdna), "--name", "pdna", *uk)
    dbs = {k: f"sqlite:///{base / (k + '.sqlite')}" for k in ("first", "second")}
    for db in dbs.values():
        vigil("scan", str(evidence), "--case", "C1", "--exhibit", "EX1", "-q", "--db", db)
    plain = {}
    for name, db in dbs.items():
        vigil("report", "C1", "--format", "json", "--out", str(base / f"plain-{name}"), "--db", db)
        plain[name] = json.loads((base / f"plain-{name}" / "report.json").read_text())

    db = dbs["first"]
    vigil(
        "case",
        "set",
        "C1",
        "--examiner",
        "J. Example",
        "--organisation",
        "Test Lab",
        "--reference",
        "OP-2024-001",
        "--db",
        db,
    )
    vigil("exhibit", "set", "C1", "EX1", "--description", "Laptop, silver", "--db", db)
    # Review grades as the review app writes them: IMG_0003 (hash set C) becomes A,
    # the unknown hills.jpg becomes B. Its PDQ stands in for the hashing stage.
    pictures = evidence / "Users/alex/Pictures"
    store_file = base / "first.sqlite"
    with sqlite3.connect(store_file) as conn:
        ids = dict(conn.execute("SELECT md5, id FROM contents"))
        for rel, grade in (("phone/IMG_0003.jpg", "A"), ("holiday/hills.jpg", "B")):
            conn.execute(
                "INSERT INTO grades (content_id, scheme, grade, user, at, note) "
                "VALUES (?, 'uk', ?, 'reviewer1', '2024-05-01T10:00:00.000000Z', NULL)",
                (ids[_md5(pictures / rel)], grade),
            )
        hills_pdq = pdq_for_file(pictures / "holiday/hills.jpg").hash
        conn.execute(
            "UPDATE contents SET pdq = ?, pdq_quality = 90 WHERE id = ?",
            (hills_pdq, ids[_md5(pictures / "holiday/hills.jpg")]),
        )
    # The stand-in edit must not read as tampering: prove the row again.
    reseal(store_file, "contents", ids[_md5(pictures / "holiday/hills.jpg")])
    vigil("keys", "new", "--out", str(base / "keys"))
    out = base / "signed"
    vigil(
        "report",
        "C1",
        "--format",
        "json,csv,html,pdf,vics,vics-uk",
        "--out",
        str(out),
        "--sign",
        str(base / "keys" / "vigil-ed25519.key"),
        "--db",
        db,
    )
    return {
        "base": base,
        "home": home,
        "vigil": vigil,
        "evidence": evidence,
        "db": db,
        "store_file": store_file,
        "plain": plain,
        "out": out,
        "report": json.loads((out / "report.json").read_text()),
        "hills_pdq": hills_pdq,
        "keys": base / "keys",
    }
