"""PDF rendering of the HTML report with WeasyPrint (pango must be installed)."""

from __future__ import annotations

from typing import Any

from vigil.errors import DependencyError
from vigil.report.render import render_html


def render_pdf(report: dict[str, Any]) -> bytes:
    """Render the report as PDF (A4 landscape), from the same HTML as ``report.html``.

    Args:
        report: The report model.

    Returns:
        The PDF bytes.

    Raises:
        DependencyError: If WeasyPrint or its system libraries (pango) are missing.
    """
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:
        raise DependencyError(
            f"PDF output needs WeasyPrint and pango (Debian: libpango-1.0-0 "
            f"libpangoft2-1.0-0): {exc}"
        ) from exc
    return HTML(string=render_html(report)).write_pdf()
