"""``python -m vigil.web``: the review-app commands on their own (same as ``vigil``)."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from vigil.errors import VigilError
from vigil.web.commands import register

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
register(app)


def main() -> None:
    """Run the commands, mapping vigil errors to exit codes."""
    try:
        app()
    except VigilError as exc:
        Console(stderr=True).print(f"[red]error:[/] {exc}")
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
