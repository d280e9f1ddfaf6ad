"""PDQ hash lists: one 64-hex PDQ hash per line, optionally with a category.

``<pdq>`` or ``<pdq>,<category>`` (comma, tab or spaces between), ``#`` comments and
blank lines skipped. A bare list of 64-hex values looks exactly like a SHA-256 list,
so ``--format auto`` never picks this reader: it must be named with ``--format pdq``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from vigil.errors import HashSetFormatError
from vigil.hashsets.entry import HashEntry, Malformed, Truncated, normalize_hex
from vigil.hashsets.formats.textlines import cut_at_end, numbered_lines

if TYPE_CHECKING:
    from vigil.hashsets.formats.pdq_columns import PdqColumns

NAME = "pdq"
HAS_CATEGORIES = True
# Only by name: a bare PDQ list is byte-for-byte the shape of a SHA-256 list.
AUTO_DETECT = False
_SPLIT = re.compile(r"[,\t ]+")


def sniff(head: bytes, path: Path) -> bool:
    """Never claims a file: a PDQ list is indistinguishable from a SHA-256 list."""
    return False


def _parse(text: str, number: int) -> HashEntry:
    fields = _SPLIT.split(text.strip(), maxsplit=1)
    pdq = normalize_hex(fields[0], "pdq")
    category = fields[1].strip() if len(fields) > 1 and fields[1].strip() else None
    return HashEntry(md5=None, sha1=None, sha256=None, pdq=pdq, category=category, record=number)


def read(path: Path) -> Iterator[HashEntry | Malformed | Truncated]:
    """Read a PDQ list; a bad first hash line means the file is not one.

    A bad last line without a line end is ``Truncated`` (the file was cut).

    Raises:
        HashSetFormatError: If the first hash line is not a PDQ hash.
    """
    return cut_at_end(path, _records(path))


def read_columns(
    path: Path, samples: int = 20, progress: Callable[[int], None] | None = None
) -> PdqColumns:
    """The records of ``read`` as flat arrays, at disk speed (see ``pdq_columns``).

    The library imports a PDQ list this way; ``read`` stays the reference.
    """
    from vigil.hashsets.formats.pdq_columns import read_columns as columns

    return columns(path, samples, progress)


def _records(path: Path) -> Iterator[HashEntry | Malformed]:
    seen_first = False
    for number, text in numbered_lines(path):
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        try:
            entry = _parse(text, number)
        except ValueError as exc:
            if not seen_first:
                raise HashSetFormatError(f"{path}: line {number}: not a PDQ list: {exc}") from None
            yield Malformed(number, str(exc))
            continue
        seen_first = True
        yield entry
    if not seen_first:
        raise HashSetFormatError(f"{path}: no PDQ hash lines found")
