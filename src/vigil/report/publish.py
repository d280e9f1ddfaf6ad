"""Write the report model in the requested formats into one folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from vigil.errors import UsageError
from vigil.report.render import render_csv, render_html, render_json
from vigil.report.vics import FLAVOURS, render_vics

# format -> output file name; report.json etc. keep the walking skeleton's names.
FILE_NAMES = {
    "json": "report.json",
    "csv": "items.csv",
    "html": "report.html",
    "pdf": "report.pdf",
    "vics": "case-vics.json",
    "vics-uk": "case-vics-uk.json",
}
VICS_FORMATS = tuple(FLAVOURS)


def _renderer(fmt: str, photodna: dict[int, str] | None) -> Callable[[dict[str, Any]], bytes]:
    if fmt == "pdf":
        from vigil.report.pdf import render_pdf

        return render_pdf
    if fmt in FLAVOURS:
        return lambda r: render_vics(r, FLAVOURS[fmt], photodna).encode("utf-8")
    text = {"json": render_json, "csv": render_csv, "html": render_html}[fmt]
    return lambda r: text(r).encode("utf-8")


def parse_formats(spec: str) -> list[str]:
    """Split a ``--format`` value (comma-separated) and check every name.

    Raises:
        UsageError: If a format is unknown or none is given.
    """
    formats = list(dict.fromkeys(f.strip() for f in spec.split(",") if f.strip()))
    unknown = [f for f in formats if f not in FILE_NAMES]
    if unknown or not formats:
        raise UsageError(
            f"unknown report format(s) {', '.join(unknown) or '(none)'}; "
            f"choose from {', '.join(FILE_NAMES)}"
        )
    return formats


def write_outputs(
    report: dict[str, Any],
    formats: list[str],
    out: Path,
    photodna: dict[int, str] | None = None,
) -> list[Path]:
    """Render ``report`` in each format into folder ``out``.

    Args:
        report: The report model.
        formats: Format names (see ``FILE_NAMES``).
        out: The output folder (created if needed).
        photodna: Hash-set entry id to PhotoDNA, passed through into VICS exports.

    Returns:
        The files written, in the order of ``formats``.

    Raises:
        UsageError: If a format is unknown.
    """
    parse_formats(",".join(formats))
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        path = out / FILE_NAMES[fmt]
        path.write_bytes(_renderer(fmt, photodna)(report))
        written.append(path)
    return written
