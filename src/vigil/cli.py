"""The ``vigil`` command line: thin Typer commands that call one library function each."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

from vigil.errors import DependencyError, UsageError, VigilError

# One maths thread per worker: the scan already runs a worker per core, and OpenBLAS's
# own threads multiply the per-picture cost of PDQ on a busy machine.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
from vigil.home import vigil_home
from vigil.sources.expand.budget import Limits

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help=__doc__, pretty_exceptions_enable=False
)
console = Console(stderr=True)
out = Console()


def _store_url(db: str | None, case: str) -> str:
    from vigil.store.api import default_store_url

    return db or default_store_url(vigil_home(), case)


# -- scan ------------------------------------------------------------------------------


class _FilesColumn(ProgressColumn):
    """Files done and files per second."""

    def __init__(self, progress_state: object) -> None:
        super().__init__()
        self.state = progress_state

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        items = self.state.items  # type: ignore[attr-defined]
        rate = items / elapsed if elapsed > 0 else 0.0
        total = self.state.total_items  # type: ignore[attr-defined]
        of = f"/{total}" if total is not None else ""
        return Text(f"{items}{of} files {rate:,.0f}/s", style="progress.download")


@app.command()
def scan(
    path: Annotated[Path, typer.Argument(help="Evidence: a folder or a forensic image.")],
    case: Annotated[str, typer.Option(help="Case name.")],
    exhibit: Annotated[str, typer.Option(help="Exhibit id within the case.")],
    hashset: Annotated[
        list[str] | None, typer.Option("--hashset", help="Hash set to match (repeat; default all).")
    ] = None,
    resume: Annotated[bool, typer.Option(help="Finish an interrupted scan.")] = False,
    workers: Annotated[int, typer.Option(help="Local workers (default: one per core).")] = 0,
    executor: Annotated[
        str, typer.Option(help="Where units run on this machine: processes or threads.")
    ] = "processes",
    cluster: Annotated[
        str | None,
        typer.Option(help="Dask scheduler address (tcp://HOST:8786): run units on a cluster."),
    ] = None,
    db: Annotated[
        str | None, typer.Option(help="Case-store URL (default: SQLite in VIGIL_HOME).")
    ] = None,
    max_depth: Annotated[int, typer.Option(help="Container nesting budget.")] = 8,
    max_members: Annotated[
        int, typer.Option(help="Members under one top-level item, all levels.")
    ] = Limits.max_members,
    max_ratio: Annotated[
        float, typer.Option(help="Expanded bytes allowed per byte of a top-level item.")
    ] = Limits.max_ratio,
    min_bytes: Annotated[
        int, typer.Option(help="Expanded bytes always allowed to a top-level item.")
    ] = Limits.min_bytes,
    max_bytes: Annotated[
        int, typer.Option(help="Expanded bytes never exceeded by a top-level item.")
    ] = Limits.max_bytes,
    max_seconds: Annotated[
        float, typer.Option(help="Wall-clock seconds for one top-level item.")
    ] = Limits.max_seconds,
    max_item_seconds: Annotated[
        float, typer.Option(help="CPU seconds for one step (one member's decode or parse).")
    ] = Limits.max_item_seconds,
    carve: Annotated[
        bool, typer.Option(help="Carve JPEG/PNG/GIF from unallocated and unpartitioned space.")
    ] = False,
    carve_files: Annotated[
        bool,
        typer.Option(help="Carve JPEG/PNG/GIF from inside allocated files of no known kind "
                     "(.dll, pagefile.sys, unknown binaries)."),
    ] = True,
    vss: Annotated[bool, typer.Option(help="Also scan each NTFS volume shadow copy.")] = False,
    pdq_mode: Annotated[
        str, typer.Option(help="PDQ: fast (reduced decode) or reference (full resolution).")
    ] = "fast",
    pdq_min_quality: Annotated[
        int, typer.Option(help="PDQ hashes below this quality are stored, never matched.")
    ] = 50,
    pdq_max_distance: Annotated[int, typer.Option(help="Largest PDQ match distance.")] = 31,
    pdq_tilts: Annotated[
        bool,
        typer.Option(
            help="Also query PDQ of the picture turned back by 2, 4 and 6 degrees (finds "
            "slightly rotated copies; about 3x the hashing time of a picture)."
        ),
    ] = True,
    pdq_uncrops: Annotated[
        bool,
        typer.Option(
            "--pdq-uncrops",
            help="Query PDQ of the picture put back into the frame of a 5% or 10% crop at "
            "all 18 assumed placements, not only the default 6 on the diagonal (finds crops "
            "cut anywhere in PDQ banks; about 2.5x the hashing time of a picture).",
        ),
    ] = False,
    lab_regions: Annotated[
        bool,
        typer.Option(
            help="Look pictures that no hash or PDQ matched up by their keypoints in the "
            "hash sets that hold region signatures (the lab bank: finds crops, turns and "
            "inset copies of graded pictures; about 30-70 ms more per such picture)."
        ),
    ] = True,
    video_fps: Annotated[float, typer.Option(help="Video frames hashed per second.")] = 1.0,
    verify_media: Annotated[
        bool,
        typer.Option(
            help="E01: read the whole media first to check chunk checksums and the "
            "acquisition hash (bad chunks are recorded against the items over them)."
        ),
    ] = True,
    password_file: Annotated[
        Path | None,
        typer.Option(help="File holding the password of an encrypted iOS backup (one line)."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
    lab_db: Annotated[
        str | None,
        typer.Option(help="Lab store for the content index (default: VIGIL_HOME/lab.sqlite)."),
    ] = None,
    lab_index: Annotated[
        bool, typer.Option(help="Add the exhibit's contents to the lab content index.")
    ] = True,
) -> None:
    """Scan evidence into the case store."""
    from vigil.hashsets.library import HashSetLibrary
    from vigil.pipeline.scan import Progress as ScanProgress
    from vigil.pipeline.scan import ScanSettings, run_scan
    from vigil.pipeline.setup import build_matchers, hashset_records
    from vigil.sources import evidence_kind
    from vigil.store.api import CaseStore

    home = vigil_home()
    # Found once, and before any progress bar: fails now if nothing is there.
    kind = evidence_kind(path)
    if pdq_mode not in ("fast", "reference"):
        raise UsageError(f"--pdq-mode must be fast or reference, not {pdq_mode!r}")
    settings = ScanSettings(
        hashsets=tuple(hashset or ()),
        max_depth=max_depth,
        max_members=max_members,
        max_ratio=max_ratio,
        min_bytes=min_bytes,
        max_bytes=max_bytes,
        max_seconds=max_seconds,
        max_item_seconds=max_item_seconds,
        carve=carve,
        carve_files=carve_files,
        vss=vss,
        pdq_mode=pdq_mode,
        pdq_min_quality=pdq_min_quality,
        pdq_max_distance=pdq_max_distance,
        pdq_tilts=pdq_tilts,
        pdq_uncrops=pdq_uncrops,
        lab_regions=lab_regions,
        video_fps=video_fps,
        verify_media=verify_media,
        password_file=str(password_file.resolve()) if password_file else None,
    )
    library = HashSetLibrary(home)
    records = hashset_records(library, settings.hashsets)
    # Built here once (and cached in VIGIL_HOME) before any worker needs the PDQ index.
    build_matchers(home, settings)
    store = CaseStore(_store_url(db, case))
    state = ScanProgress()
    n_workers = workers or (os.cpu_count() or 2)
    show = not quiet and not as_json
    bar = Progress(
        TextColumn("[bold]scanning"),
        BarColumn(),
        _FilesColumn(state),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not show,
        transient=False,
    )
    try:
        with bar:
            task_id = bar.add_task("scan", total=None)

            def update(p: ScanProgress) -> None:
                bar.update(task_id, completed=p.bytes, total=p.total_bytes)

            summary = run_scan(
                store,
                case,
                exhibit,
                path,
                settings,
                home,
                records,
                resume=resume,
                workers=n_workers,
                executor=executor,
                cluster=cluster,
                progress=state,
                on_progress=update if show else None,
                kind=kind,
            )
        from vigil.intel.commands import index_after_scan

        indexed = index_after_scan(lab_db, store, case, exhibit) if lab_index else None
    finally:
        # Releases the exhibit's writer lock whatever happened.
        store.close()
    if as_json:
        out.print_json(json.dumps({**asdict(summary), "lab_index": indexed}))
        return
    if not quiet:
        out.print(
            f"case [bold]{summary.case}[/] exhibit [bold]{summary.exhibit}[/]: "
            f"{summary.items} items ({summary.skipped} already done), "
            f"{summary.new_contents} new distinct contents, {summary.matches} matches, "
            f"{summary.errors} errors in {summary.elapsed:.1f}s"
        )


# -- demo ------------------------------------------------------------------------------


@app.command()
def demo(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Where to put the demo evidence and report.")
    ] = Path("demo-output"),
) -> None:
    """Generate benign evidence, build a demo hash set, scan it and write the report."""
    from vigil.demo import run_demo

    report_dir = run_demo(out_dir, console=out)
    out.print(f"[bold green]report written to {report_dir / 'report.html'}[/]")


@app.command()
def doctor() -> None:
    """Check that every backend and tool vigil needs is installed; exit 3 if not."""
    from vigil.doctor import run_checks

    checks = run_checks()
    table = Table("backend", "needed for", "status")
    for c in checks:
        status = (
            f"[green]ok[/] {c.version or ''}"
            if c.found
            else ("[red]MISSING[/]" if c.required else "[yellow]missing (optional)[/]")
        )
        table.add_row(c.name, c.needed_for, status)
    out.print(table)
    if any(c.required and not c.found for c in checks):
        raise DependencyError("required backends are missing (see the table above)")


def _register_subcommands() -> None:
    # Each area owns its commands; cli.py only mounts them.
    from vigil.classify.commands import register as register_classify
    from vigil.hashing.commands import register as register_hashing
    from vigil.hashsets.commands import register as register_hashsets
    from vigil.intel.commands import register as register_intel
    from vigil.report.commands import register as register_report
    from vigil.series.commands import register as register_series
    from vigil.web.commands import register as register_web

    register_hashing(app)
    register_hashsets(app)
    register_intel(app)
    register_report(app)
    register_series(app)
    register_classify(app)
    register_web(app)


_register_subcommands()


def _fail(exc: VigilError) -> None:
    # One unwrapped line, the message as plain text (a path may hold "[...]").
    console.print(Text.assemble(("error:", "red"), " ", str(exc)), soft_wrap=True)
    sys.exit(exc.exit_code)


def main() -> None:
    """Console-script entry point: map vigil errors to exit codes."""
    try:
        app()
    except VigilError as exc:
        _fail(exc)
    except Exception as exc:
        # A database error that no command translated is still a store problem (exit 3).
        from vigil.store.failures import as_store_error

        store_error = as_store_error(exc)
        if store_error is None:
            raise
        _fail(store_error)
