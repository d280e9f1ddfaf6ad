"""The classifier slot on a real scan: exact scores, the queue ordered by them, the
report naming the model file, and never a grade."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
from pathlib import Path

import jsonschema
import pytest

from tests_support import InProcessVigil

sys.path.insert(0, str(Path(__file__).parent))
from sky_model import build_sky_model, landscape, write_config  # noqa: E402

from vigil.classify.config import load_config  # noqa: E402
from vigil.classify.model import Classifier  # noqa: E402
from vigil.errors import UsageError  # noqa: E402
from vigil.report.build import build_report  # noqa: E402
from vigil.report.render import render_html  # noqa: E402
from vigil.store.api import CaseStore  # noqa: E402
from vigil.web.casedata import queue  # noqa: E402

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "report-schema.json"
BLUES = {"a.png": 200, "b.png": 90, "c.png": 250, "d.png": 10}


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("classify")
    home, evidence = base / "home", base / "evidence"
    home.mkdir()
    evidence.mkdir()
    for name, blue in BLUES.items():
        landscape(blue).save(evidence / name)
    # Twice as large, horizon lower: resized to the model's input, its top half is all sky.
    landscape(250, (128, 96), horizon=0.75).save(evidence / "c_large.png")
    landscape(130).save(evidence / "broken.png")
    model = build_sky_model(base / "sky.onnx")
    config = write_config(base)
    vigil = InProcessVigil(home)
    vigil("scan", str(evidence), "--case", "K-1", "--exhibit", "EX1", "-q")
    # A picture when scanned, damaged since (a failing drive): cut inside its header, no
    # decoder can make a picture of it (even with Pillow's process-wide
    # LOAD_TRUNCATED_IMAGES, which importing weasyprint turns on). A file cut like this
    # before the scan is not a picture at all (media "other"), so never scored.
    whole = (evidence / "broken.png").read_bytes()
    (evidence / "broken.png").write_bytes(whole[:20])
    result = json.loads(vigil("classify", "K-1", "--config", str(config), "--json"))
    db = home / "cases" / "K-1.sqlite"
    with sqlite3.connect(db) as conn:
        ids = dict(conn.execute("SELECT path, content_id FROM items"))
    return {"home": home, "db": db, "model": model, "result": result, "ids": ids}


def test_scores_are_exact_and_the_bad_picture_is_named(case: dict) -> None:
    r = case["result"]
    assert r["model_sha256"] == hashlib.sha256(case["model"]).hexdigest()
    assert (r["model_name"], r["label"], r["scored"]) == ("sky-vs-ground", "sky", 5)
    assert [f["location"] for f in r["failures"]] == ["broken.png"]
    assert r["failures"][0]["reason"].startswith("ValueError: not a decodable picture")
    with sqlite3.connect(case["db"]) as conn:
        stored = dict(conn.execute(
            "SELECT i.path, s.score FROM scores s JOIN items i ON i.content_id = s.content_id"
        ))
        assert conn.execute("SELECT COUNT(*) FROM grades").fetchone() == (0,)
        logged = json.loads(conn.execute(
            "SELECT details FROM audit_log WHERE action = 'classify'").fetchone()[0])
    # (blue - 100) / 2, exactly: the mean of a flat sky.
    assert stored == {"a.png": 50.0, "b.png": -5.0, "c.png": 75.0, "c_large.png": 75.0,
                      "d.png": -45.0}
    assert logged["model_sha256"] == r["model_sha256"] and logged["failed"] == 1


def test_review_queue_is_ordered_by_score(case: dict) -> None:
    store = CaseStore(f"sqlite:///{case['db']}")
    try:
        with store.engine.connect() as conn:
            order = [e.content_id for e in queue(conn, store.case_id("K-1"))]
    finally:
        store.close()
    ids = case["ids"]
    assert order == [ids[n] for n in ("c.png", "c_large.png", "a.png", "b.png", "d.png",
                                      "broken.png")]


def test_report_names_the_model_and_says_it_is_no_grade(case: dict) -> None:
    store = CaseStore(f"sqlite:///{case['db']}")
    try:
        report = build_report(store, "K-1")
    finally:
        store.close()
    jsonschema.validate(report, json.loads(SCHEMA.read_text()))
    (run,) = report["classifier"]["runs"]
    assert (run["model"], run["model_sha256"], run["scored"], run["failed"]) == (
        "sky-vs-ground", hashlib.sha256(case["model"]).hexdigest(), 5, 1)
    assert "never a grade" in report["classifier"]["note"]
    assert all(it["review"] is None for it in report["items"])
    html = render_html(report)
    assert run["model_sha256"] in html and "never a grade" in html


def test_bad_configs_and_models_are_refused(tmp_path: Path) -> None:
    build_sky_model(tmp_path / "sky.onnx")
    good = load_config(write_config(tmp_path))
    assert (good.width, good.height, good.mean, good.std) == (64, 48, (0, 0, 100), (1, 1, 2))
    with pytest.raises(UsageError, match="priority 'sea' is not a label"):
        load_config(write_config(tmp_path, priority='"sea"'))
    with pytest.raises(UsageError, match="layout is NCHW or NHWC"):
        load_config(write_config(tmp_path, layout='"NWHC"'))
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(UsageError, match="is not a usable ONNX model"):
        Classifier(load_config(write_config(tmp_path, model="junk.onnx")))
    three = load_config(write_config(tmp_path, labels='["sky", "ground", "sea"]'))
    with pytest.raises(UsageError, match="gives 2 outputs per picture; the config names 3"):
        classifier = Classifier(three)
        classifier.score([classifier.prepare(_png(landscape(1)))])


def _png(img: object) -> bytes:
    import io

    out = io.BytesIO()
    img.save(out, "PNG")  # type: ignore[attr-defined]
    return out.getvalue()
