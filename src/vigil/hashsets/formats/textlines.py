"""Numbered lines of a text hash-set file, shared by the line-oriented readers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from vigil.errors import HashSetFormatError
from vigil.hashsets.entry import HashEntry, Malformed, Truncated


def numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` for every line, 1-based, without line ends.

    A UTF-8 BOM is dropped, LF/CRLF/CR all end a line, and bytes that are not UTF-8
    become U+FFFD so a binary file shows up as a bad line rather than an exception.

    Args:
        path: The text file.

    Returns:
        An iterator of numbered lines.

    Raises:
        HashSetFormatError: If the file cannot be opened.
    """
    try:
        handle = path.open(encoding="utf-8-sig", errors="replace", newline=None)
    except OSError as exc:
        raise HashSetFormatError(f"{path}: cannot open: {exc.strerror or exc}") from exc
    with handle:
        for number, line in enumerate(handle, start=1):
            yield number, line.rstrip("\n")


def head_lines(head: bytes, limit: int = 20) -> list[str]:
    """Decode the complete lines at the start of a file for sniffing.

    Args:
        head: The first bytes of the file.
        limit: At most this many lines are returned.

    Returns:
        The complete lines in ``head`` (a trailing partial line is dropped unless it is
        the only line), BOM and line ends removed.
    """
    text = head.decode("utf-8", errors="replace").removeprefix("\ufeff")
    lines = text.splitlines()
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]
    return lines[:limit]


def mostly_parses(lines: list[str], parse: Callable[[str, int], object]) -> bool:
    """Sniffing rule of the line formats: the first line parses, and half of all do.

    ``parse(line, number)`` raises ValueError for a line that does not fit; a few bad
    lines after the first are tolerated, as ``read`` tolerates them.
    """
    good = 0
    for number, line in enumerate(lines, start=1):
        try:
            parse(line, number)
        except ValueError:
            if number == 1:
                return False
            continue
        good += 1
    return good * 2 >= len(lines)


def _ends_mid_line(path: Path) -> bool:
    with path.open("rb") as handle:
        if handle.seek(0, 2) == 0:
            return False
        handle.seek(-1, 2)
        return handle.read(1) not in (b"\n", b"\r")


def cut_at_end(
    path: Path, records: Iterator[HashEntry | Malformed]
) -> Iterator[HashEntry | Malformed | Truncated]:
    """Pass a line reader's records through; a bad last line that has no line end is the
    file cut mid-line, so it becomes ``Truncated`` rather than ``Malformed``."""
    last: HashEntry | Malformed | None = None
    for record in records:
        if last is not None:
            yield last
        last = record
    if isinstance(last, Malformed) and _ends_mid_line(path):
        yield Truncated(last.record, f"the file ends mid-line: {last.reason}")
    elif last is not None:
        yield last
