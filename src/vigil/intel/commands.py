"""``vigil intel CASE`` and the content-index step of ``vigil scan``."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from vigil.errors import VigilError

out = Console()
err = Console(stderr=True)

LabOption = Annotated[
    str | None, typer.Option("--lab-db", help="Lab store URL (default: VIGIL_HOME/lab.sqlite).")
]
DbOption = Annotated[
    str | None, typer.Option(help="Case-store URL (default: SQLite in VIGIL_HOME).")
]
UserOption = Annotated[
    str | None,
    typer.Option("--user", help="Lab user asking (default: $VIGIL_EXAMINER or the login name)."),
]


def write_json(document: Any) -> None:
    """Print a JSON document: indented on a terminal, compact otherwise.

    Not through rich: highlighting and wrapping the listing of a large case took most of
    ``vigil intel``'s time (56 s of 66 s for 20,000 contents), and a pipe needs neither.
    """
    if sys.stdout.isatty():
        out.print_json(json.dumps(document))
        return
    sys.stdout.write(json.dumps(document) + "\n")  # one C-encoded string, not chunks
    sys.stdout.flush()


@contextmanager
def lab_engine(lab_db: str | None) -> Iterator[Any]:
    """The lab store at ``lab_db`` (default under VIGIL_HOME), migrated; disposed after."""
    from vigil.home import vigil_home
    from vigil.store.api import normalise_url
    from vigil.web.lab import default_lab_url, open_lab

    engine = open_lab(normalise_url(lab_db) if lab_db else default_lab_url(vigil_home()))
    try:
        yield engine
    finally:
        engine.dispose()


def index_after_scan(lab_db: str | None, store: Any, case: str, exhibit: str) -> dict | None:
    """Index the scanned exhibit in the lab store; a failure is reported, never raised.

    The scan itself is already committed: when the lab store cannot be written, the
    message says so and how to index the case later (``vigil intel CASE --refresh``).

    Returns:
        The ``IndexResult`` as a dict, or None when indexing failed.
    """
    from vigil.intel.index import index_exhibit

    try:
        with lab_engine(lab_db) as lab:
            result = index_exhibit(lab, store, case, exhibit)
    except (VigilError, OSError) as exc:
        err.print(
            f"warning: the scan is stored, but the lab content index was not updated: {exc} "
            f"(run `vigil intel {case} --refresh` later)",
            markup=False,
        )
        return None
    return asdict(result)


def intel(
    case: Annotated[str, typer.Argument(help="Case name.")],
    user: UserOption = None,
    max_distance: Annotated[int, typer.Option(help="Largest PDQ distance linking pictures.")] = 31,
    refresh: Annotated[
        bool, typer.Option(help="Re-index every exhibit of the case from its store first.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    lab_db: LabOption = None,
    db: DbOption = None,
) -> None:
    """List the contents this case shares with other cases (exact and perceptual)."""
    from vigil.intel.access import intel_view, viewer_for
    from vigil.intel.shared import shared_with_others
    from vigil.store.api import actor

    with lab_engine(lab_db) as lab:
        viewer = viewer_for(lab, user or actor(), case)
        if refresh:
            from vigil.home import vigil_home
            from vigil.intel.index import index_case
            from vigil.store.api import CaseStore, default_store_url

            store = CaseStore(db or default_store_url(vigil_home(), case))
            try:
                index_case(lab, store, case)
            finally:
                store.close()
        shared = shared_with_others(lab, case, max_distance)
    view = intel_view(case, shared, viewer, max_distance)
    if as_json:
        write_json(view)
        return
    for row in view["shared"]:
        for link in row["links"]:
            distance = f" distance {link['distance']}" if link["basis"] == "perceptual" else ""
            typer.echo(
                f"{row['sha256']}\t{link['case']}\t{','.join(link['exhibits'])}\t"
                f"{link['basis']}{distance}"
            )
    if view["other_cases"] is not None:
        o = view["other_cases"]
        typer.echo(f"other cases you are not assigned to: {o['cases']} ({o['contents']} contents)")




def referral_import(
    report: Annotated[Path, typer.Argument(help="The referral document (XML).")],
    user: UserOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    lab_db: LabOption = None,
) -> None:
    """Take in a CyberTipline-style referral: match its files, print its priority."""
    from vigil.hashsets.library import HashSetLibrary
    from vigil.home import vigil_home
    from vigil.intel.access import lab_viewer
    from vigil.intel.referral.intake import import_referral
    from vigil.intel.referral.view import one_referral
    from vigil.store.api import actor

    with lab_engine(lab_db) as lab:
        viewer = lab_viewer(lab, user or actor())
        ref_id = import_referral(lab, HashSetLibrary(vigil_home()), report, viewer.user.name)
        view = one_referral(lab, ref_id, viewer)
    if as_json:
        out.print_json(json.dumps(view))
        return
    typer.echo(f"referral {view['report_id']}: priority {view['priority']}")
    for r in view["reasons"]:
        typer.echo(f"  +{r['weight']} {r['text']}")


def referral_list(
    user: UserOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    lab_db: LabOption = None,
) -> None:
    """List open referrals, highest priority first."""
    from vigil.intel.access import lab_viewer
    from vigil.intel.referral.view import open_referrals
    from vigil.store.api import actor

    with lab_engine(lab_db) as lab:
        views = open_referrals(lab, lab_viewer(lab, user or actor()))
    if as_json:
        out.print_json(json.dumps(views))
        return
    for v in views:
        codes = ", ".join(r["code"] for r in v["reasons"]) or "-"
        typer.echo(f"{v['priority']}\t{v['report_id']}\t{v['imported_at']}\t{codes}")


def register(app: typer.Typer) -> None:
    """Mount ``intel`` and ``referral`` on the main ``vigil`` app."""
    app.command("intel")(intel)
    referral = typer.Typer(no_args_is_help=True, help="Referrals (CyberTipline-style reports).")
    referral.command("import")(referral_import)
    referral.command("list")(referral_list)
    app.add_typer(referral, name="referral")
