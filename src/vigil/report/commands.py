"""Report, export and chain-of-custody commands: ``vigil report``, ``report verify``,
``case set``, ``exhibit set``, ``verify``, ``keys new`` and ``audit verify``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from typer.core import TyperGroup

out = Console()
err = Console(stderr=True)

DbOption = Annotated[
    str | None, typer.Option(help="Case-store URL (default: SQLite in VIGIL_HOME).")
]


class _DefaultMakeGroup(TyperGroup):
    """``vigil report CASE ...`` means ``vigil report make CASE ...``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["make", *args]
        return super().parse_args(ctx, args)


report_app = typer.Typer(
    cls=_DefaultMakeGroup,
    no_args_is_help=True,
    help="Write the case report (vigil report CASE ...) or verify a signed report folder.",
)
case_app = typer.Typer(no_args_is_help=True, help="Case header: reference, examiner, organisation.")
exhibit_app = typer.Typer(no_args_is_help=True, help="Exhibit header: description.")
keys_app = typer.Typer(no_args_is_help=True, help="Examiner signing keys (Ed25519).")
audit_app = typer.Typer(no_args_is_help=True, help="The case audit chain.")


def _open_store(case: str, db: str | None) -> Any:
    from vigil.home import vigil_home
    from vigil.store.api import CaseStore, default_store_url

    return CaseStore(db or default_store_url(vigil_home(), case))


@report_app.command("make")
def report(
    case: Annotated[str, typer.Argument(help="Case name.")],
    format: Annotated[
        str,
        typer.Option("--format", help="Comma-separated: html,json,csv,pdf,vics,vics-uk."),
    ] = "html,json,csv",
    out_dir: Annotated[Path | None, typer.Option("--out", help="Output folder.")] = None,
    sign: Annotated[
        Path | None, typer.Option("--sign", help="Examiner private key: sign the manifest.")
    ] = None,
    flood_share: Annotated[
        float,
        typer.Option(
            help="A hash-set entry matching perceptually mutually different pictures "
            "(PDQ distance over 31 among them) numbering more than this fraction of the "
            "case's distinct pictures is suspect (0.01 = 1%). Copies of one picture "
            "never make an entry suspect."
        ),
    ] = 0.01,
    flood_min_contents: Annotated[
        int,
        typer.Option(
            help="...and at least this many mutually different pictures (both must hold)."
        ),
    ] = 3,
    db: DbOption = None,
    user: Annotated[
        str | None,
        typer.Option(
            "--user",
            help="Lab user the 'also seen in' section is made for (default: "
            "$VIGIL_EXAMINER or the login name).",
        ),
    ] = None,
    lab_db: Annotated[
        str | None, typer.Option(help="Lab store URL (default: VIGIL_HOME/lab.sqlite).")
    ] = None,
) -> None:
    """Write the case report and its manifest (SHA-256 of every file, audit head)."""
    from vigil.errors import UsageError
    from vigil.hashsets.library import LIBRARY_FILE
    from vigil.home import vigil_home
    from vigil.report.admin import log_output
    from vigil.report.build import build_report
    from vigil.report.floods import FloodSettings
    from vigil.report.publish import VICS_FORMATS, parse_formats, write_outputs
    from vigil.report.signing import file_sha256, write_manifest
    from vigil.report.vics import photodna_for

    formats = parse_formats(format)
    try:
        floods = FloodSettings(max_share=flood_share, min_contents=flood_min_contents)
    except ValueError as exc:
        raise UsageError(f"--flood-share/--flood-min-contents: {exc}") from exc
    store = _open_store(case, db)
    try:
        model = build_report(store, case, floods)
        from vigil.intel.commands import lab_engine
        from vigil.intel.report import also_seen_in
        from vigil.store.api import actor

        with lab_engine(lab_db) as lab:
            model["also_seen_in"] = also_seen_in(lab, case, user or actor())
        photodna = None
        if any(f in VICS_FORMATS for f in formats):
            ids = [it["match"]["entry_id"] for it in model["items"] if it["match"]]
            photodna = photodna_for(vigil_home() / LIBRARY_FILE, ids)
        folder = out_dir or Path(f"{case}-report")
        files = write_outputs(model, formats, folder, photodna)
        action = "export" if all(f in VICS_FORMATS for f in formats) else "report"
        head = log_output(
            store,
            case,
            action,
            {
                "formats": formats,
                "folder": str(folder.resolve()),
                "files": {f.name: file_sha256(f) for f in files},
                "signed": sign is not None,
            },
        )
    finally:
        store.close()
    files += write_manifest(folder, files, case, head, sign)
    for f in files:
        out.print(str(f))


@report_app.command("verify")
def report_verify(
    folder: Annotated[Path, typer.Argument(help="The report folder.")],
    key: Annotated[
        Path | None, typer.Option("--key", help="The examiner's public key file.")
    ] = None,
    case: Annotated[
        str | None, typer.Option(help="Also check the case's audit chain still has the head.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Check a report folder's manifest signature and every file's SHA-256."""
    from vigil.report.admin import audit_has_head
    from vigil.report.signing import verify_folder

    check = verify_folder(folder, key)
    audit = check.audit
    if case is not None and check.audit:
        store = _open_store(case, db)
        try:
            if not audit_has_head(store, case, int(audit["entries"]), str(audit["head"])):
                check.problems.append(
                    f"audit chain of case {case} no longer holds entry {audit['entries']} "
                    f"with hash {audit['head']} (truncated or rewritten since the report)"
                )
        finally:
            store.close()
    if check.ok:
        out.print(
            f"OK: signature valid ({check.key_source}); {check.files} files match; "
            f"audit chain at report time: {audit.get('entries')} entries, head {audit.get('head')}"
        )
        return
    for problem in check.problems:
        out.print(f"FAIL: {problem}")
    raise typer.Exit(1)


@case_app.command("set")
def case_set(
    case: Annotated[str, typer.Argument(help="Case name (created if new).")],
    examiner: Annotated[str | None, typer.Option(help="Examiner's name.")] = None,
    organisation: Annotated[str | None, typer.Option(help="Organisation.")] = None,
    reference: Annotated[str | None, typer.Option(help="Case reference.")] = None,
    db: DbOption = None,
) -> None:
    """Set the case header shown in reports."""
    from vigil.report.admin import set_case

    store = _open_store(case, db)
    try:
        fields = set_case(
            store, case, examiner=examiner, organisation=organisation, reference=reference
        )
    finally:
        store.close()
    out.print(json.dumps(fields, sort_keys=True))


@exhibit_app.command("set")
def exhibit_set(
    case: Annotated[str, typer.Argument(help="Case name.")],
    exhibit: Annotated[str, typer.Argument(help="Exhibit id.")],
    description: Annotated[str, typer.Option(help="What the exhibit is.")],
    db: DbOption = None,
) -> None:
    """Set an exhibit's description."""
    from vigil.report.admin import set_exhibit

    store = _open_store(case, db)
    try:
        set_exhibit(store, case, exhibit, description)
    finally:
        store.close()
    out.print(f"exhibit {exhibit} of case {case}: description set")


def verify(
    evidence: Annotated[
        Path, typer.Argument(help="An EWF image (.E01; other segments beside it).")
    ],
    case: Annotated[str | None, typer.Option(help="Record the result in this case.")] = None,
    exhibit: Annotated[str | None, typer.Option(help="Exhibit id to record it under.")] = None,
    db: DbOption = None,
) -> None:
    """Recompute an EWF image's MD5/SHA-1 and compare them with the stored ones."""
    from vigil.errors import UsageError
    from vigil.report.admin import record_verify, verify_text
    from vigil.sources.verify import verify_ewf

    if (case is None) != (exhibit is None):
        raise UsageError("give both --case and --exhibit to record the result, or neither")
    with err.status(f"reading {evidence}"):
        result = verify_ewf(evidence)
    out.print(f"stored   MD5  {result.stored_md5 or '(none)'}")
    out.print(f"computed MD5  {result.computed_md5}")
    out.print(f"stored   SHA1 {result.stored_sha1 or '(none)'}")
    out.print(f"computed SHA1 {result.computed_sha1}")
    text = verify_text(result)
    if case is not None and exhibit is not None:
        store = _open_store(case, db)
        try:
            record_verify(store, case, exhibit, evidence, result)
        finally:
            store.close()
        out.print(f"recorded in case {case}, exhibit {exhibit}")
    out.print(f"result: {text}")
    if not result.ok:
        raise typer.Exit(1)


@keys_app.command("new")
def keys_new(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the key pair.")] = Path("."),
) -> None:
    """Write a new Ed25519 key pair; the private key file is mode 0600."""
    from vigil.report.signing import new_keypair

    private, public = new_keypair(out_dir)
    out.print(f"private key {private} (keep it secret)")
    out.print(f"public key  {public} (give it to whoever verifies your reports)")


@audit_app.command("verify")
def audit_verify(
    case: Annotated[str, typer.Argument(help="Case name.")],
    db: DbOption = None,
) -> None:
    """Recompute the case's audit chain and row digests: OK, or each problem.

    Exit 1 when only the chain is broken, 3 when stored rows differ from what the
    scan wrote (the message names them).
    """
    from vigil.errors import StoreError
    from vigil.report.admin import audit_problems, check_rows

    store = _open_store(case, db)
    try:
        count, problems = audit_problems(store, case)
        rows = check_rows(store, case, refuse=False)
    finally:
        store.close()
    for p in problems:
        out.print(f"entry {p.seq}: {p.reason}")
    if not rows.ok:
        raise StoreError(rows.message(case))
    if problems:
        raise typer.Exit(1)
    out.print(
        f"OK: {count} entries, chain intact; {rows.rows} rows match their "
        f"{rows.batches} write batches"
    )


def register(app: typer.Typer) -> None:
    """Mount the report, case, exhibit, verify, keys and audit commands on ``vigil``."""
    app.add_typer(report_app, name="report")
    app.add_typer(case_app, name="case")
    app.add_typer(exhibit_app, name="exhibit")
    app.add_typer(keys_app, name="keys")
    app.add_typer(audit_app, name="audit")
    app.command("verify")(verify)
