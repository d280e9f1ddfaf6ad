"""Text renderers of the report model: JSON, CSV and self-contained HTML.

No renderer ever embeds picture content: the HTML has no <img>, no data: URI and
no external resource. Text from the evidence is shown, never obeyed: HTML, CSV (and
the PDF made from the HTML) escape control and bidi characters visibly
(``vigil.names.visible``), and a CSV cell that a spreadsheet would take as a formula
is prefixed with ``'``. JSON keeps the exact text (JSON-escaped).
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from vigil.names import visible

# Outside JSON's own escapes, only these may need one (checked one by one).
_NOT_ASCII = re.compile(r"[^\x20-\x7e\n]")
# A spreadsheet runs a cell starting with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

CSV_COLUMNS = (
    "exhibit",
    "path",
    "size",
    "media",
    "mime",
    "md5",
    "sha1",
    "sha256",
    "created",
    "modified",
    "accessed",
    "changed",
    "deleted",
    "carved",
    "embedded",
    "in_archive",
    "encrypted",
    "known_good",
    "hashset",
    "scheme",
    "grade",
    "basis",
    "algorithm",
    "distance",
    "variant",
    "errors",
    "status",
    "representative",
    "grade_source",
    "hashset_grade",
    "review_grade",
    "review_user",
    "review_at",
    "pdq",
    "pdq_quality",
    "parent",
    "suspect",
    # The name's raw bytes in hex when they are not UTF-8 (``path`` shows them as \xNN).
    "path_hex",
)


def _json_escape(match: re.Match[str]) -> str:
    ch = match.group(0)
    if ch.isprintable():
        return ch
    code = ord(ch)
    if code > 0xFFFF:
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def render_json(report: dict[str, Any]) -> str:
    """The report as canonical JSON (sorted keys, two-space indent, trailing newline).

    Text is exact; characters that are not printable (controls, bidi and other format
    characters) are written as ``\\uXXXX`` escapes, so the file is safe to ``cat``.
    """
    text = json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return _NOT_ASCII.sub(_json_escape, text)


def _csv_row(it: dict[str, Any]) -> list[Any]:
    m = it["match"] or {}
    g = it["grade"] or {}
    r = it["review"] or {}
    flags = it["flags"]
    return [
        it["exhibit"],
        it["path"],
        it["size"],
        it["media"],
        it["mime"],
        it["md5"],
        it["sha1"],
        it["sha256"],
        it["created"],
        it["modified"],
        it["accessed"],
        it["changed"],
        flags["deleted"],
        flags["carved"],
        flags["embedded"],
        flags["in_archive"],
        flags["encrypted"],
        it["known_good"],
        m.get("hashset"),
        g.get("scheme") or m.get("scheme"),
        g.get("code"),
        m.get("basis"),
        m.get("algorithm"),
        m.get("distance"),
        m.get("variant"),
        "; ".join(it["errors"]),
        it["status"],
        it["representative"],
        g.get("source"),
        m.get("grade"),
        r.get("grade"),
        r.get("user"),
        r.get("at"),
        it["pdq"],
        it["pdq_quality"],
        it["parent"],
        bool(m.get("suspect")),
        it.get("path_hex"),
    ]


def csv_cell(value: Any) -> Any:
    """A CSV cell that is safe to open or ``cat``: visible escapes, no formula."""
    if not isinstance(value, str):
        return value
    text = visible(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def render_csv(report: dict[str, Any]) -> str:
    """One row per item; ``grade`` is the grade the item is counted under."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for it in report["items"]:
        writer.writerow([csv_cell(v) for v in _csv_row(it)])
    return out.getvalue()


def _shown(value: Any) -> Any:
    """Jinja ``finalize``: every string printed in the HTML has visible escapes."""
    # Markup is the template's own output (macros), already escaped.
    return visible(value) if isinstance(value, str) and not isinstance(value, Markup) else value


_env = Environment(
    loader=PackageLoader("vigil.report", "templates"),
    autoescape=select_autoescape(["html"]),
    finalize=_shown,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_html(report: dict[str, Any]) -> str:
    """A self-contained HTML page that prints well and holds no picture content."""
    return _env.get_template("report.html").render(r=report)
