"""Renderers of the report model: JSON, CSV and self-contained HTML.

No renderer ever embeds picture content: the HTML has no <img>, no data: URI and
no external resource.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from vigil.errors import UsageError

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
)


def render_json(report: dict[str, Any]) -> str:
    """The report as canonical JSON (sorted keys, two-space indent, trailing newline)."""
    return json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_csv(report: dict[str, Any]) -> str:
    """One row per item."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for it in report["items"]:
        m = it["match"] or {}
        flags = it["flags"]
        writer.writerow(
            [
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
                m.get("scheme"),
                m.get("grade"),
                m.get("basis"),
                m.get("algorithm"),
                m.get("distance"),
                m.get("variant"),
                "; ".join(it["errors"]),
            ]
        )
    return out.getvalue()


_env = Environment(
    loader=PackageLoader("vigil.report", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_html(report: dict[str, Any]) -> str:
    """A self-contained HTML page that prints well and holds no picture content."""
    return _env.get_template("report.html").render(r=report)


RENDERERS: dict[str, tuple[str, Callable[[dict[str, Any]], str]]] = {
    "json": ("report.json", render_json),
    "csv": ("items.csv", render_csv),
    "html": ("report.html", render_html),
}


def write_report(report: dict[str, Any], formats: list[str], out: Path) -> list[Path]:
    """Render ``report`` in each of ``formats`` into folder ``out``; returns the files."""
    unknown = [f for f in formats if f not in RENDERERS]
    if unknown:
        raise UsageError(
            f"unknown report format(s) {', '.join(unknown)}; choose from {', '.join(RENDERERS)}"
        )
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        name, render = RENDERERS[fmt]
        path = out / name
        path.write_text(render(report), encoding="utf-8")
        written.append(path)
    return written
