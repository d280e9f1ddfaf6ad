"""``vigil classify CASE --config FILE``: score unknown pictures with an ONNX model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

out = Console()
err = Console(stderr=True)


def register(app: typer.Typer) -> None:
    """Mount ``vigil classify`` on the main app."""

    @app.command("classify")
    def classify(
        case: Annotated[str, typer.Argument(help="Case name.")],
        config: Annotated[
            Path, typer.Option("--config", help="Classifier config (TOML: model, size, "
                               "normalisation, labels, priority label).")
        ],
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
        db: Annotated[
            str | None, typer.Option(help="Case-store URL (default: SQLite in VIGIL_HOME).")
        ] = None,
    ) -> None:
        """Score the case's unknown pictures; the review queue then shows the highest
        first. A score is a prioritisation aid, never a grade."""
        from vigil.classify.config import load_config
        from vigil.classify.run import classify_case
        from vigil.home import vigil_home
        from vigil.store.api import CaseStore, default_store_url

        settings = load_config(config)
        store = CaseStore(db or default_store_url(vigil_home(), case))
        try:
            result = classify_case(store, case, settings)
        finally:
            store.close()
        if as_json:
            print(json.dumps(result.__dict__, indent=2, sort_keys=True))
            return
        out.print(
            f"{result.scored} pictures scored by {result.model_name} "
            f"(SHA-256 {result.model_sha256}), label {result.label!r}; "
            f"{len(result.failures)} could not be scored"
        )
        for f in result.failures[:20]:
            err.print(f"not scored: {f['location']}: {f['reason']}", markup=False)
