"""``vigil hash FILE...``: the hashes vigil would record for loose files.

Per file MD5, SHA-1 and SHA-256 in one read and, for pictures (by signature, not by
name), the PDQ hash and its quality. A file that cannot be read or decoded gives a line
with its error; the other files are still hashed and the exit code is 1 at the end.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from vigil.errors import UsageError
from vigil.hashing.crypto import digest_stream
from vigil.hashing.pdq import Mode, pdq_for_file
from vigil.sources.sniff import sniff

# The keys of one ``--json`` line, in order; ``error`` is added only when something failed.
JSON_KEYS = ("path", "md5", "sha1", "sha256", "pdq", "pdq_quality")


def hash_file(path: Path, mode: Mode = "fast") -> dict[str, Any]:
    """Hash one loose file as ``vigil hash`` reports it.

    Args:
        path: The file.
        mode: PDQ mode, ``fast`` (reduced decode) or ``reference`` (full resolution,
            identical to python-threatexchange).

    Returns:
        A dict with exactly ``JSON_KEYS`` (values None where not computed), plus
        ``error`` (a reason) when the file could not be read or a picture not decoded.
    """
    record: dict[str, Any] = dict.fromkeys(JSON_KEYS)
    record["path"] = str(path)
    try:
        with path.open("rb") as stream:
            digests = digest_stream(stream)
    except OSError as exc:
        record["error"] = f"read: {exc.strerror or exc}"
        return record
    record.update(md5=digests.md5, sha1=digests.sha1, sha256=digests.sha256)
    if sniff(digests.head).media != "image":
        return record
    result = pdq_for_file(path, mode, variants=False)
    if result.hash is None:
        record["error"] = f"decode: {result.error or 'picture could not be decoded'}"
        return record
    record.update(pdq=result.hash, pdq_quality=result.quality)
    return record


def _table(records: list[dict[str, Any]]) -> Table:
    table = Table()
    table.add_column("path", overflow="fold")
    # Hashes are never folded: a broken hash cannot be copied or compared.
    table.add_column("MD5 / SHA-1 / SHA-256", no_wrap=True, min_width=64)
    table.add_column("PDQ", no_wrap=True, min_width=64)
    table.add_column("quality", justify="right")
    table.add_column("error", overflow="fold")
    for r in records:
        digests = "\n".join(r[k] for k in ("md5", "sha1", "sha256") if r[k]) or "-"
        table.add_row(
            r["path"],
            digests,
            r["pdq"] or "-",
            "-" if r["pdq_quality"] is None else str(r["pdq_quality"]),
            r.get("error") or "",
        )
    return table


def hash_command(
    files: Annotated[list[Path], typer.Argument(help="Files to hash.")],
    mode: Annotated[
        str, typer.Option(help="PDQ: fast (reduced decode) or reference (full resolution).")
    ] = "fast",
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per line instead of a table.")
    ] = False,
) -> None:
    """Print MD5, SHA-1, SHA-256 and, for pictures, PDQ and quality of each file."""
    if mode not in ("fast", "reference"):
        raise UsageError(f"--mode must be fast or reference, not {mode!r}")
    # Consoles made per call, so the width follows the terminal (or COLUMNS) of this run.
    out, err = Console(), Console(stderr=True)
    records = []
    for path in files:
        record = hash_file(path, mode)  # type: ignore[arg-type]
        records.append(record)
        if as_json:
            typer.echo(json.dumps(record))
        elif "error" in record:
            err.print(f"[red]{path}:[/] {record['error']}")
    if not as_json:
        out.print(_table(records))
    if any("error" in r for r in records):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Mount ``vigil hash`` on the main app."""
    app.command("hash")(hash_command)
