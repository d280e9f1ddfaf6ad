"""``vigil report``: write the case report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

out = Console()


def report(
    case: Annotated[str, typer.Argument(help="Case name.")],
    format: Annotated[
        str, typer.Option("--format", help="Comma-separated: html,json,csv.")
    ] = "html,json,csv",
    out_dir: Annotated[Path | None, typer.Option("--out", help="Output folder.")] = None,
    db: Annotated[str | None, typer.Option(help="Case-store URL.")] = None,
) -> None:
    """Write the case report."""
    from vigil.home import vigil_home
    from vigil.report.build import build_report
    from vigil.report.render import write_report
    from vigil.store.api import CaseStore, default_store_url

    store = CaseStore(db or default_store_url(vigil_home(), case))
    model = build_report(store, case)
    store.close()
    folder = out_dir or Path(f"{case}-report")
    files = write_report(model, [f.strip() for f in format.split(",") if f.strip()], folder)
    for f in files:
        out.print(str(f))


def register(app: typer.Typer) -> None:
    """Mount the report commands on the main ``vigil`` app."""
    app.command()(report)
