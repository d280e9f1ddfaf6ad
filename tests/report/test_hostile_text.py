"""Text from the evidence is shown, never obeyed: no raw control or bidi character and no
spreadsheet formula reaches HTML, CSV or PDF; JSON keeps the exact text."""

from __future__ import annotations

import copy
import csv
import io
import json

import pytest

from vigil.report.render import csv_cell, render_csv, render_html, render_json

ESC_NAME = "x\x1b]0;owned\x07.jpg"
RLO = "\u202e"


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
        ("+SUM(A1)", "'+SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\tlead tab", "\\x09lead tab"),  # escaped first, so no longer a formula
        ("\r=x", "\\x0d=x"),
        ("a=b", "a=b"),
        ("gpj" + RLO + "exe", "gpj\\u202eexe"),
        ("", ""),
        (-3, -3),
        (None, None),
    ],
)
def test_csv_cell(value: object, cell: object) -> None:
    assert csv_cell(value) == cell


def test_hostile_free_text_is_escaped_in_html_and_csv(case: dict) -> None:
    report = copy.deepcopy(case["report"])
    report["exhibits"][0]["description"] = f"seized {RLO}enohp\x1b[2J"
    report["errors"] = [
        {"exhibit": "EX1", "location": "a\\x1bb.zip", "stage": "expand",
         "reason": f"cannot open {ESC_NAME}", "item": False}
    ]
    item = report["items"][0]
    item["errors"] = [f"decode: bad {ESC_NAME}"]
    item["mime"] = "=cmd|' /C calc'!A0"
    html = render_html(report)
    text_csv = render_csv(report)
    for text in (html, text_csv):
        assert "\x1b" not in text and "\x07" not in text and RLO not in text
    assert "seized \\u202eenohp\\x1b[2J" in html
    assert "cannot open x\\x1b]0;owned\\x07.jpg" in html
    rows = list(csv.DictReader(io.StringIO(text_csv)))
    first = next(r for r in rows if r["path"] == item["path"])
    assert first["errors"] == "decode: bad x\\x1b]0;owned\\x07.jpg"
    assert first["mime"] == "'=cmd|' /C calc'!A0"
    # JSON keeps the exact text, JSON-escaped (bidi and emoji-range format too).
    report["errors"][0]["reason"] += f" {RLO}\U000e0041 caf\u00e9 \u4e2d"
    text = render_json(report)
    assert json.loads(text)["errors"][0]["reason"] == (
        f"cannot open {ESC_NAME} {RLO}\U000e0041 caf\u00e9 \u4e2d"
    )
    assert "cannot open x\\u001b]0;owned\\u0007.jpg \\u202e\\udb40\\udc41 caf\u00e9 \u4e2d" in text
