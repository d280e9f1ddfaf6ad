"""Plain hash lists: one MD5, SHA-1 or SHA-256 per line, algorithm told by length.

A 64-digit line is read as SHA-256, never as PDQ: PDQ lists have their own reader,
registered before this one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from vigil.errors import HashSetFormatError
from vigil.hashsets.entry import (
    HashEntry,
    Malformed,
    Truncated,
    algorithm_for_length,
    normalize_hex,
)
from vigil.hashsets.formats.textlines import cut_at_end, head_lines, mostly_parses, numbered_lines

NAME = "plain"
HAS_CATEGORIES = False


def _parse(text: str, number: int) -> HashEntry:
    value = text.strip()
    algorithm = algorithm_for_length(len(value))
    if algorithm is None:
        shown = value if len(value) <= 80 else value[:77] + "..."
        raise ValueError(f"{shown!r} is not an MD5, SHA-1 or SHA-256 hex digest")
    digest = normalize_hex(value, algorithm)
    hashes = {"md5": None, "sha1": None, "sha256": None, algorithm: digest}
    return HashEntry(record=number, **hashes)


def _is_skipped(text: str) -> bool:
    stripped = text.strip()
    return not stripped or stripped.startswith("#")


def sniff(head: bytes, path: Path) -> bool:
    """Tell whether the file looks like a bare hash list.

    Args:
        head: The first bytes of the file.
        path: The file (unused).

    Returns:
        True if the first non-comment line in ``head`` and at least half of all are bare
        hex digests.
    """
    lines = [line for line in head_lines(head) if not _is_skipped(line)]
    if not lines:
        return False
    return mostly_parses(lines, _parse)


def read(path: Path) -> Iterator[HashEntry | Malformed | Truncated]:
    """Read a plain hash list.

    Args:
        path: The list. ``#`` comment lines and blank lines are skipped.

    Returns:
        An iterator of entries, and ``Malformed`` for bad lines after the first.
        A bad last line without a line end is ``Truncated`` (the file was cut).

    Raises:
        HashSetFormatError: If the first hash line is not a hex digest (not a plain list).
    """
    return cut_at_end(path, _records(path))


def _records(path: Path) -> Iterator[HashEntry | Malformed]:
    seen_first = False
    for number, text in numbered_lines(path):
        if _is_skipped(text):
            continue
        try:
            entry = _parse(text, number)
        except ValueError as exc:
            if not seen_first:
                raise HashSetFormatError(
                    f"{path}: line {number}: not a plain hash list: {exc}"
                ) from None
            yield Malformed(number, str(exc))
            continue
        seen_first = True
        yield entry
    if not seen_first:
        raise HashSetFormatError(f"{path}: no hash lines found")
