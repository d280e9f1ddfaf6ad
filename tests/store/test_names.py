"""Names are bytes: hostile evidence names are stored losslessly and shown visibly."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine, select

from tests_support import InProcessVigil
from vigil.model import Hashes, Item, ScanError
from vigil.names import escape_name, name_bytes, name_text, unescape_name, visible
from vigil.store import audit, migrate, rowproof
from vigil.store.api import CaseStore, ItemRecord
from vigil.store.schema import errors, items

# (name as os.listdir gives it, display form, raw bytes)
HOSTILE = [
    ("name_\udcff.png", "name_\\xff.png", b"name_\xff.png"),
    ("red\x1b[31mX.jpg", "red\\x1b[31mX.jpg", b"red\x1b[31mX.jpg"),
    ("gpj\u202eexe.jpg", "gpj\\u202eexe.jpg", b"gpj\xe2\x80\xaeexe.jpg"),
    ("back\\slash\\x41", "back\\\\slash\\\\x41", b"back\\slash\\x41"),
    ("line\nbreak\r\t", "line\\x0abreak\\x0d\\x09", b"line\nbreak\r\t"),
    ("c1\x85zero\u200bwidth", "c1\\u0085zero\\u200bwidth", b"c1\xc2\x85zero\xe2\x80\x8bwidth"),
    ("caf\u00e9 \u4e2d.jpg", "caf\u00e9 \u4e2d.jpg", "caf\u00e9 \u4e2d.jpg".encode()),
    ("lone\ud800", "lone\\ud800", b"lone\xed\xa0\x80"),
    ("tag\U000e0041", "tag\\U000e0041", b"tag\xf3\xa0\x81\x81"),
]


@pytest.mark.parametrize(("name", "display", "raw"), HOSTILE)
def test_display_form_and_bytes(name: str, display: str, raw: bytes) -> None:
    assert escape_name(name) == display
    assert unescape_name(display) == name
    assert name_bytes(name) == raw
    assert display.isprintable()


def test_visible_keeps_backslashes_and_escapes_controls() -> None:
    assert visible("C:\\dir\x1b[0m \u202e") == "C:\\dir\\x1b[0m \\u202e"
    assert name_text("a\udcffb") == "a\ufffdb"


@given(st.text(alphabet=st.characters(exclude_categories=())))
def test_display_form_round_trips_every_string(name: str) -> None:
    display = escape_name(name)
    assert unescape_name(display) == name
    assert display.isprintable()
    assert "\x1b" not in display and "\u202e" not in display


def _item(path: str, parent: str | None = None) -> Item:
    return Item(path=path, open=lambda: io.BytesIO(b""), size=3, parent=parent, depth=1)


def _hashes(n: int) -> Hashes:
    return Hashes(size=3, md5=f"{n:032x}", sha1=f"{n:040x}", sha256=f"{n:064x}")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'c.sqlite'}"
    from postgres_server import create_database

    return create_database(request.getfixturevalue("postgres"), "names")


def test_store_keeps_names_exactly_and_resume_gets_them_back(
    store_url: str, tmp_path: Path
) -> None:
    store = CaseStore(store_url)
    ctx = store.begin_scan("C1", "E1", tmp_path, "folder", {}, [], resume=False)
    container = "odd\udcfe.zip"
    records = [ItemRecord(_item(container), _hashes(0), container=True)]
    records += [
        ItemRecord(_item(f"{container}!{name}", parent=container), _hashes(i + 1))
        for i, (name, _d, _r) in enumerate(HOSTILE)
    ]
    failure = ScanError(f"{container}!bad\x1b\udcff", "decode", "cannot read \x1b[2J\udcff")
    store.write_batch(ctx, records, [failure], [container], {})
    done = store.done_items(ctx)
    assert done == {r.item.path: (True if r.container else None) for r in records}
    with store.engine.connect() as conn:
        rows = {r.path: r for r in conn.execute(select(items))}
        error = conn.execute(select(errors)).one()
    assert rows["odd\\xfe.zip!name_\\xff.png"].path_raw == b"odd\xfe.zip!name_\xff.png"
    assert rows["odd\\xfe.zip!gpj\\u202eexe.jpg"].parent_path == "odd\\xfe.zip"
    assert {r.path_raw for r in rows.values()} == {name_bytes(r.item.path) for r in records}
    assert (error.location, error.reason) == (
        "odd\\xfe.zip!bad\\x1b\\xff",
        "cannot read \\x1b[2J\\xff",
    )
    store.finish_scan(ctx)
    store.close()


def test_migration_0003_escapes_names_of_an_older_store(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite"
    engine = create_engine(f"sqlite:///{db}")
    config = migrate.alembic_config()
    from alembic import command

    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0002")
    with sqlite3.connect(db) as conn:
        conn.executescript(
            "INSERT INTO cases (id, name, created_at) VALUES (1, 'C1', 't');"
            "INSERT INTO exhibits (id, case_id, name, evidence_path, evidence_kind, created_at)"
            " VALUES (1, 1, 'E1', '/ev', 'folder', 't');"
            "INSERT INTO scans (id, exhibit_id, started_at, status, settings, vigil_version)"
            " VALUES (1, 1, 't', 'complete', '{}', '0.1');"
        )
        conn.execute(
            "INSERT INTO items (exhibit_id, path, allocated, deleted, carved, embedded, "
            "in_archive, encrypted, depth, parent_path) VALUES (1, ?, 1, 0, 0, 0, 0, 0, 0, ?)",
            ("a\x1bb\\c", "p\u202e"),
        )
        conn.execute(
            "INSERT INTO errors (exhibit_id, location, stage, reason) VALUES (1, ?, 's', 'r')",
            ("e\x07",),
        )
    engine.dispose()
    store = CaseStore(f"sqlite:///{db}")
    with store.engine.connect() as conn:
        row = conn.execute(select(items)).one()
        location = conn.execute(select(errors.c.location)).scalar_one()
    assert (row.path, row.path_raw, row.parent_path) == ("a\\x1bb\\\\c", b"a\x1bb\\c", "p\\u202e")
    assert location == "e\\x07"
    # The rows already there are sealed by the migration, so they are proven from now on.
    with store.engine.connect() as conn:
        check = rowproof.verify_rows(conn, 1)
        entry = audit.entries(conn, 1)[-1]
    assert (check.ok, check.rows, check.batches) == (True, 2, 1)
    assert (entry.action, entry.actor, entry.details["rows"], entry.details["legacy"]) == (
        "scan-batch", "vigil migration 0003", 2, True
    )
    store.close()


def _png(seed: int) -> bytes:
    from PIL import Image

    img = Image.new("RGB", (64, 48))
    img.putdata([((x * 4 + seed) % 256, (y * 5) % 256, 90) for y in range(48) for x in range(64)])
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_scan_and_report_of_hostile_names(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    files = {b"pic_\xff.png": _png(1), "red\x1b[31mX.png": _png(2), "gpj\u202egnp.png": _png(3),
             "=cmd|calc.txt": b"four", "+1.txt": b"five", "@sum.txt": b"six", "-2.txt": b"7"}
    for name, data in files.items():
        raw = name if isinstance(name, bytes) else name.encode()
        with open(os.path.join(bytes(evidence), raw), "wb") as f:
            f.write(data)
    home = tmp_path / "home"
    home.mkdir()
    vigil = InProcessVigil(home)
    db = f"sqlite:///{tmp_path / 'h.sqlite'}"
    vigil("scan", str(evidence), "--case", "H1", "--exhibit", "E1", "-q", "--workers", "1",
          "--executor", "threads", "--db", db)
    out = tmp_path / "rep"
    vigil("report", "H1", "--format", "json,csv,html,pdf", "--out", str(out), "--db", db)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    shown = {i["path"]: (i["path_text"], i["path_hex"]) for i in report["items"]}
    assert shown == {
        "pic_\\xff.png": ("pic_\ufffd.png", "7069635fff2e706e67"),
        "red\\x1b[31mX.png": ("red\x1b[31mX.png", None),
        "gpj\\u202egnp.png": ("gpj\u202egnp.png", None),
        "=cmd|calc.txt": ("=cmd|calc.txt", None),
        "+1.txt": ("+1.txt", None),
        "@sum.txt": ("@sum.txt", None),
        "-2.txt": ("-2.txt", None),
    }
    # JSON keeps the exact text, JSON-escaped: ESC is \u001b, no raw ESC byte.
    raw_json = (out / "report.json").read_bytes()
    assert b'"path_text": "red\\u001b[31mX.png"' in raw_json and b"\x1b" not in raw_json
    assert b'"path_text": "gpj\\u202egnp.png"' in raw_json
    csv_text = (out / "items.csv").read_bytes().decode("utf-8")
    html = (out / "report.html").read_text(encoding="utf-8")
    pdf = subprocess.run(
        ["pdftotext", "-layout", str(out / "report.pdf"), "-"],
        capture_output=True, text=True, check=True,
    ).stdout
    for text in (csv_text, html, pdf):
        assert "\x1b" not in text and "\u202e" not in text and "\ufffd" not in text
    hexes = {r["path"]: r["path_hex"] for r in csv.DictReader(io.StringIO(csv_text))}
    assert hexes["pic_\\xff.png"] == "7069635fff2e706e67" and hexes["'+1.txt"] == ""
    paths = sorted(line.split(",")[1] for line in csv_text.splitlines()[1:])
    assert paths == sorted(
        ["'+1.txt", "'-2.txt", "'=cmd|calc.txt", "'@sum.txt", "gpj\\u202egnp.png",
         "pic_\\xff.png", "red\\x1b[31mX.png"]
    )
    for text in (html, pdf):
        for name in ("pic_\\xff.png", "red\\x1b[31mX.png", "gpj\\u202egnp.png"):
            assert name in text
