"""``vigil hashset``: import, list, remove and suppress entries of hash sets."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from vigil.home import vigil_home

if TYPE_CHECKING:
    from vigil.hashsets.library import HashSetInfo

hashset_app = typer.Typer(
    no_args_is_help=True, help="Import, list and remove hash sets; suppress entries."
)
out = Console()
console = Console(stderr=True)


@hashset_app.command("import")
def hashset_import(
    file: Annotated[Path, typer.Argument(help="The hash-set file to import.")],
    name: Annotated[str, typer.Option(help="Name of the set in the library.")],
    format: Annotated[str, typer.Option("--format", help="auto or a format name.")] = "auto",
    scheme: Annotated[str, typer.Option(help="Grading scheme: uk or projectvic.")] = "projectvic",
    category_map: Annotated[
        str | None, typer.Option(help="Source category to grade, e.g. '1=A,2=B,3=C,0=none'.")
    ] = None,
    known_good: Annotated[
        bool | None,
        typer.Option("--known-good/--notable", help="Known-good (e.g. NSRL) or notable."),
    ] = None,
    grade: Annotated[
        str | None, typer.Option(help="Grade for every entry of a set without categories.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Import a hash-set file into the library."""
    from vigil.hashsets.library import HashSetLibrary

    lib = HashSetLibrary(vigil_home())
    with console.status(f"importing {file}"):
        result = lib.import_file(
            file,
            name,
            fmt=format,
            scheme=scheme,
            category_map=category_map,
            known_good=known_good,
            grade=grade,
        )
    if as_json:
        data = {**asdict(result), "partial": result.partial}
        out.print_json(json.dumps(data, default=str))
        return
    kind = "known-good" if result.known_good else "notable"
    out.print(
        f"imported [bold]{result.name}[/] ({result.format}, {kind}): {result.entries} entries"
    )
    if result.mapping_note:
        out.print(result.mapping_note)
    if result.unmapped:
        out.print(f"[yellow]{result.unmapped} entries have a category with no grade mapping[/]")
    if result.malformed:
        out.print(f"[yellow]{result.malformed} malformed records skipped:[/]")
        for m in result.malformed_samples:
            out.print(f"  record {m.record}: {m.reason}", markup=False)
    if result.truncated:
        out.print(
            f"[yellow]the file breaks off at record {result.truncated.record}: "
            f"{escape(result.truncated.reason)}; the {result.entries} records before it "
            "were imported (the set is marked partial)[/]"
        )


@hashset_app.command("list")
def hashset_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the hash sets in the library."""
    from vigil.hashsets.library import HashSetLibrary

    infos = HashSetLibrary(vigil_home()).list()
    if as_json:
        out.print_json(json.dumps([asdict(i) for i in infos], default=str))
        return
    table = Table(
        "name", "format", "scheme", "kind", "entries", "categories", "source SHA-256", "imported at"
    )
    for i in infos:
        table.add_row(
            i.name,
            i.format,
            i.scheme or "",
            "known-good" if i.known_good else "notable",
            f"{i.entries} partial" if i.partial else str(i.entries),
            ", ".join(f"{k}: {v}" for k, v in sorted(i.categories.get("grade", {}).items())),
            i.source_sha256[:16] + "…",
            i.imported_at,
        )
    out.print(table)
    for i in infos:
        if i.partial:
            out.print(f"{i.name}: partial, {_damage_text(i)}", markup=False, soft_wrap=True)


def _damage_text(info: HashSetInfo) -> str:
    """Where a partial set's file broke, in a few words."""
    parts = []
    cut = info.damage.get("truncated")
    if isinstance(cut, dict):
        parts.append(f"file cut at record {cut['record']} ({cut['reason']})")
    if info.malformed:
        parts.append(f"{info.malformed} malformed records")
    return ", ".join(parts)


@hashset_app.command("remove")
def hashset_remove(name: Annotated[str, typer.Argument(help="The set to remove.")]) -> None:
    """Remove a hash set from the library."""
    from vigil.hashsets.library import HashSetLibrary

    HashSetLibrary(vigil_home()).remove(name)
    out.print(f"removed {name}")


@hashset_app.command("suppress")
def hashset_suppress(
    name: Annotated[str, typer.Argument(help="The hash set holding the entry.")],
    entry_id: Annotated[int, typer.Argument(help="The entry id (as in the report).")],
    reason: Annotated[str, typer.Option(help="Why the entry is suppressed (recorded).")],
) -> None:
    """Stop one entry from matching perceptually (e.g. a flat picture that floods)."""
    from vigil.errors import UsageError
    from vigil.hashsets.library import HashSetLibrary

    if not reason.strip():
        raise UsageError("--reason must say why the entry is suppressed")
    HashSetLibrary(vigil_home()).suppress(name, entry_id, reason.strip())
    out.print(
        f"suppressed entry {entry_id} of {name}: it no longer matches perceptually "
        "(the PDQ index is rebuilt at the next scan)"
    )


@hashset_app.command("suppressed")
def hashset_suppressed(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the suppressed entries and the reason given for each."""
    from vigil.hashsets.library import HashSetLibrary

    found = sorted(HashSetLibrary(vigil_home()).suppressed().items())
    if as_json:
        out.print_json(json.dumps([{"entry_id": e, "reason": r} for e, r in found]))
        return
    table = Table("entry", "reason")
    for entry_id, reason in found:
        table.add_row(str(entry_id), reason)
    out.print(table if found else "no suppressed entries")


@hashset_app.command("export")
def hashset_export(
    name: Annotated[str, typer.Argument(help="The lab bank set (lab, lab-projectvic).")],
    format: Annotated[
        str, typer.Option("--format", help="vics-uk (UK categories) or vics (Project VIC).")
    ] = "vics-uk",
    out_file: Annotated[
        Path | None, typer.Option("--out", help="File to write (default: standard output).")
    ] = None,
    lab_db: Annotated[
        str | None, typer.Option(help="Lab store URL (default: VIGIL_HOME/lab.sqlite).")
    ] = None,
) -> None:
    """Write the lab bank (grades given in the review app) as a VICS hash set."""
    from vigil.hashsets.library import HashSetLibrary
    from vigil.intel.commands import lab_engine
    from vigil.intel.export import export_bank

    with lab_engine(lab_db) as lab:
        text, count = export_bank(lab, HashSetLibrary(vigil_home()), name, format)
    if out_file is None:
        typer.echo(text, nl=False)
        return
    out_file.write_text(text, encoding="utf-8")
    console.print(f"wrote {count} media records of {name} to {out_file}")


def register(app: typer.Typer) -> None:
    """Mount ``vigil hashset`` on the main app."""
    app.add_typer(hashset_app, name="hashset")
