"""``vigil series CASE``: the case's unknown pictures grouped into series."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

out = Console()


def register(app: typer.Typer) -> None:
    """Mount ``vigil series`` on the main app."""

    @app.command("series")
    def series(
        case: Annotated[str, typer.Argument(help="Case name.")],
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
        max_distance: Annotated[
            int, typer.Option(help="Near duplicates: largest PDQ distance (0-256).", min=0,
                              max=256)
        ] = 31,
        burst_gap: Annotated[
            float, typer.Option(help="Bursts: largest gap in seconds between shots.", min=0)
        ] = 10.0,
        place_radius: Annotated[
            float, typer.Option(help="Places: largest distance in metres between shots.",
                                min=0)
        ] = 100.0,
        db: Annotated[
            str | None, typer.Option(help="Case-store URL (default: SQLite in VIGIL_HOME).")
        ] = None,
    ) -> None:
        """Group unknown pictures into series: near duplicates, camera, lens, burst,
        place and folder, each with the facts its members share."""
        from vigil.home import vigil_home
        from vigil.series.grouping import SeriesSettings
        from vigil.series.listing import case_series, series_json
        from vigil.store.api import CaseStore, default_store_url
        from vigil.store.failures import translated

        store = CaseStore(db or default_store_url(vigil_home(), case))
        try:
            case_id = store.case_id(case)
            settings = SeriesSettings(max_distance, burst_gap, place_radius)
            with translated(store.url, "reading the case"), store.engine.connect() as conn:
                found, pictures = case_series(conn, case_id, settings)
        finally:
            store.close()
        listed = series_json(found, pictures)
        if as_json:
            # Compact and streamed: 100,000 pictures make a listing of about 100 MB.
            document = {"case": case, "settings": settings.__dict__, "series": listed}
            json.dump(document, sys.stdout, sort_keys=True, separators=(",", ":"))
            sys.stdout.write("\n")
            return
        table = Table("series", "kind", "pictures", "shared facts")
        for s in listed:
            facts = ", ".join(f"{k}={v}" for k, v in sorted(s["facts"].items()))
            table.add_row(s["id"], s["kind"], str(s["size"]), facts)
        out.print(table)
