"""vPDQ hash files (Meta's video PDQ output): one known video per file.

Each line is ``frameNumber,quality,pdqHash,timestamp``; the whole file becomes one
library entry (named after the file) whose frames are matched by the vPDQ rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from vigil.errors import HashSetFormatError
from vigil.hashsets.entry import HashEntry, Malformed
from vigil.hashsets.formats.textlines import head_lines, numbered_lines
from vigil.hashsets.vpdq_file import parse_vpdq_line

NAME = "vpdq"
HAS_CATEGORIES = False
_LINE = re.compile(r"^\d+,\d{1,3},[0-9a-fA-F]{64},\d+(\.\d+)?$")


def sniff(head: bytes, path: Path) -> bool:
    """A vPDQ file: its first lines are ``n,quality,hash,seconds`` records."""
    lines = [line.strip() for line in head_lines(head) if line.strip()]
    return bool(lines) and all(_LINE.match(line) for line in lines)


def read(path: Path) -> Iterator[HashEntry | Malformed]:
    """Read one vPDQ file as one entry carrying its frames.

    Raises:
        HashSetFormatError: If no line is a vPDQ record.
    """
    frames = []
    bad: list[Malformed] = []
    for number, text in numbered_lines(path):
        if not text.strip():
            continue
        try:
            frames.append(parse_vpdq_line(text))
        except ValueError as exc:
            if not frames and not bad:
                raise HashSetFormatError(f"{path}: line {number}: not a vPDQ file: {exc}") from None
            bad.append(Malformed(number, str(exc)))
    if not frames:
        raise HashSetFormatError(f"{path}: no vPDQ frame lines found")
    yield from bad
    yield HashEntry(
        md5=None, sha1=None, sha256=None, name=path.stem, frames=tuple(frames), record=1
    )
