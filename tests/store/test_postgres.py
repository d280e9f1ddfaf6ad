"""The case store on a real PostgreSQL server: same schema, concurrent exhibit scans."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from postgres_server import create_database
from vigil.demo import build_demo_evidence, write_demo_hashsets
from vigil.report.build import build_report
from vigil.store import audit
from vigil.store.api import CaseStore

VIGIL = [sys.executable, "-m", "vigil"]


def _finish(proc: subprocess.Popen, timeout: int = 120) -> None:
    _out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err


def _vigil(home: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "VIGIL_HOME": str(home)}
    return subprocess.Popen([*VIGIL, *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _counts(store: CaseStore, case: str) -> dict:
    report = build_report(store, case)
    strip = {k: v for k, v in report["totals"].items()}
    items = sorted((i["exhibit"], i["path"], i["sha256"]) for i in report["items"])
    return {"totals": strip, "items": items,
            "exhibits": {e["name"]: e["totals"] for e in report["exhibits"]}}


def test_concurrent_exhibits_equal_sequential(postgres: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    ev1, ev2 = tmp_path / "ev1", tmp_path / "ev2"
    roles = build_demo_evidence(ev1, seed=1)
    build_demo_evidence(ev2, seed=1)  # the same pictures on a second device
    (ev2 / "extra.txt").write_text("only on the second device\n")
    vics, _ = write_demo_hashsets(ev1, roles, tmp_path / "sets")
    p = _vigil(home, "hashset", "import", str(vics), "--name", "k", "--scheme", "uk",
               "--category-map", "1=A,2=B,3=C")
    _finish(p)

    seq_url = create_database(postgres, "seq")
    par_url = create_database(postgres, "par")
    for ex, ev in (("D1", ev1), ("D2", ev2)):
        p = _vigil(home, "scan", str(ev), "--case", "OP", "--exhibit", ex, "--db", seq_url, "-q")
        _finish(p)
    procs = [
        _vigil(home, "scan", str(ev), "--case", "OP", "--exhibit", ex, "--db", par_url, "-q")
        for ex, ev in (("D1", ev1), ("D2", ev2))
    ]
    for proc in procs:
        _finish(proc)

    seq, par = CaseStore(seq_url), CaseStore(par_url)
    try:
        a, b = _counts(seq, "OP"), _counts(par, "OP")
        assert a == b
        assert a["totals"]["items"] == 2 * 18 + 2 * 2 + 1  # two devices, zip members, extra
        assert a["totals"]["media"]["image"]["distinct"] == 10
        with par.engine.connect() as conn:
            case_id = par.case_id("OP")
            assert audit.verify(conn, case_id) == []
            actions = [e.action for e in audit.entries(conn, case_id)]
        assert actions.count("scan-start") == 2 and actions.count("scan-complete") == 2
    finally:
        seq.close()
        par.close()


def test_migrations_run_on_postgres(postgres: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from vigil.store.schema import metadata

    store = CaseStore(create_database(postgres, "schema"))
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        assert conn.execute(select(1)).scalar_one() == 1
    store.close()
