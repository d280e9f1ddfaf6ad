"""md5sum / md5deep style lines: ``<hex><two spaces><name>`` (or ``<hex> *<name>``).

sha1sum and sha256sum write the same layout, so the algorithm is told by length.
"""

from __future__ import annotations

import re
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

NAME = "md5sum"
HAS_CATEGORIES = False

# A digest, one space, then a space (text mode) or "*" (binary mode), then the name.
_LINE = re.compile(r"^\\?([0-9A-Fa-f]+) [ *](.+)$")


def _parse(text: str, number: int) -> HashEntry:
    found = _LINE.match(text)
    if found is None:
        raise ValueError(f"{text[:80]!r} is not '<hash>  <name>'")
    value, name = found.groups()
    algorithm = algorithm_for_length(len(value))
    if algorithm is None:
        raise ValueError(f"{value[:80]!r} is not an MD5, SHA-1 or SHA-256 hex digest")
    hashes = {"md5": None, "sha1": None, "sha256": None}
    hashes[algorithm] = normalize_hex(value, algorithm)
    return HashEntry(name=name, record=number, **hashes)


def sniff(head: bytes, path: Path) -> bool:
    """Tell whether the file starts with md5sum-style lines.

    Args:
        head: The first bytes of the file.
        path: The file (unused).

    Returns:
        True if the first non-blank line in ``head`` and at least half of all are
        ``<hash>  <name>``.
    """
    lines = [line for line in head_lines(head) if line.strip()]
    if not lines:
        return False
    return mostly_parses(lines, _parse)


def read(path: Path) -> Iterator[HashEntry | Malformed | Truncated]:
    """Read an md5sum-style file.

    Args:
        path: The file.

    Returns:
        An iterator of entries (with file names), and ``Malformed`` for bad lines.
        A bad last line without a line end is ``Truncated`` (the file was cut).

    Raises:
        HashSetFormatError: If the first non-blank line is not ``<hash>  <name>``.
    """
    return cut_at_end(path, _records(path))


def _records(path: Path) -> Iterator[HashEntry | Malformed]:
    seen_first = False
    for number, text in numbered_lines(path):
        if not text.strip():
            continue
        try:
            entry = _parse(text, number)
        except ValueError as exc:
            if not seen_first:
                raise HashSetFormatError(
                    f"{path}: line {number}: not md5sum style: {exc}"
                ) from None
            yield Malformed(number, str(exc))
            continue
        seen_first = True
        yield entry
    if not seen_first:
        raise HashSetFormatError(f"{path}: no hash lines found")
