"""NIST NSRL RDS v2 ``NSRLFile.txt``: quoted CSV with a fixed header, sorted by SHA-1."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from vigil.errors import HashSetFormatError
from vigil.hashsets.entry import HashEntry, Malformed, Truncated, normalize_hex
from vigil.hashsets.formats.textlines import cut_at_end, head_lines

NAME = "nsrl_v2"
HAS_CATEGORIES = False
KNOWN_GOOD = True

HEADER = [
    "SHA-1",
    "MD5",
    "CRC32",
    "FileName",
    "FileSize",
    "ProductCode",
    "OpSystemCode",
    "SpecialCode",
]


def sniff(head: bytes, path: Path) -> bool:
    """Tell whether line 1 is the RDS v2 ``NSRLFile.txt`` header.

    Args:
        head: The first bytes of the file.
        path: The file (unused).

    Returns:
        True if the header starts with the SHA-1, MD5, CRC32, FileName columns.
    """
    lines = head_lines(head, limit=1)
    if not lines:
        return False
    fields = next(csv.reader([lines[0]]), [])
    return fields[:4] == HEADER[:4]


def _parse(columns: dict[str, int], fields: list[str], number: int) -> HashEntry:
    if len(fields) < len(columns):
        raise ValueError(f"{len(fields)} fields where the header declares {len(columns)}")
    size_text = fields[columns["FileSize"]].strip()
    try:
        size = int(size_text) if size_text else None
    except ValueError:
        raise ValueError(f"FileSize {size_text!r} is not an integer") from None
    return HashEntry(
        md5=normalize_hex(fields[columns["MD5"]], "md5"),
        sha1=normalize_hex(fields[columns["SHA-1"]], "sha1"),
        sha256=None,
        size=size,
        name=fields[columns["FileName"]] or None,
        record=number,
    )


def read(path: Path) -> Iterator[HashEntry | Malformed | Truncated]:
    """Read the distinct hashes of an ``NSRLFile.txt``.

    The same file repeats a hash once per product; the file is sorted by SHA-1, so a
    repeat is always next to its first occurrence and only that one is kept.

    Args:
        path: The ``NSRLFile.txt``.

    Returns:
        An iterator of entries (record = line number), and ``Malformed`` for bad lines.
        A bad last line without a line end is ``Truncated`` (the file was cut).

    Raises:
        HashSetFormatError: If line 1 is not the RDS v2 header.
    """
    return cut_at_end(path, _records(path))


def _records(path: Path) -> Iterator[HashEntry | Malformed]:
    try:
        handle = path.open(encoding="utf-8-sig", errors="replace", newline="")
    except OSError as exc:
        raise HashSetFormatError(f"{path}: cannot open: {exc.strerror or exc}") from exc
    with handle:
        rows = csv.reader(handle)
        try:
            first = next(rows, None)
        except csv.Error as exc:
            raise HashSetFormatError(f"{path}: not an NSRLFile.txt: {exc}") from None
        if first is None or first[:4] != HEADER[:4]:
            shown = ",".join(first or [])[:60]
            raise HashSetFormatError(f"{path}: line 1 is not the NSRL RDS v2 header: {shown!r}")
        columns = {name: index for index, name in enumerate(first) if name in HEADER}
        if "FileSize" not in columns:
            raise HashSetFormatError(f"{path}: NSRL RDS v2 header has no FileSize column")
        previous: tuple[str | None, str | None] | None = None
        while True:
            number = rows.line_num + 1
            try:
                fields = next(rows)
            except StopIteration:
                return
            except csv.Error as exc:
                yield Malformed(number, f"CSV error: {exc}")
                continue
            if not fields:
                continue
            try:
                entry = _parse(columns, fields, number)
            except ValueError as exc:
                yield Malformed(number, str(exc))
                continue
            if (entry.sha1, entry.md5) == previous:
                continue
            previous = (entry.sha1, entry.md5)
            yield entry
