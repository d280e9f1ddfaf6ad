"""X-Ways Forensics hash import text: a header naming the algorithm, then one hash a line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from vigil.errors import HashSetFormatError
from vigil.hashsets.entry import HashEntry, Malformed, Truncated, normalize_hex
from vigil.hashsets.formats.textlines import cut_at_end, head_lines, numbered_lines

NAME = "xways"
HAS_CATEGORIES = False

# X-Ways insists on "SHA-1" (not "SHA1"); we read the header case-insensitively.
_HEADERS = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256"}


def _algorithm(header: str) -> str | None:
    return _HEADERS.get(header.strip().upper())


def sniff(head: bytes, path: Path) -> bool:
    """Tell whether the first line is an X-Ways hash-type header.

    Args:
        head: The first bytes of the file.
        path: The file (unused).

    Returns:
        True if line 1 is ``MD5``, ``SHA-1`` or ``SHA-256``.
    """
    lines = head_lines(head, limit=1)
    return bool(lines) and _algorithm(lines[0]) is not None


def read(path: Path) -> Iterator[HashEntry | Malformed | Truncated]:
    """Read an X-Ways hash import file.

    Args:
        path: The file; X-Ways takes the set name from the file name.

    Returns:
        An iterator of entries, and ``Malformed`` for bad lines.
        A bad last line without a line end is ``Truncated`` (the file was cut).

    Raises:
        HashSetFormatError: If line 1 is not a hash-type header.
    """
    return cut_at_end(path, _records(path))


def _records(path: Path) -> Iterator[HashEntry | Malformed]:
    algorithm: str | None = None
    for number, text in numbered_lines(path):
        if algorithm is None:
            algorithm = _algorithm(text)
            if algorithm is None:
                raise HashSetFormatError(
                    f"{path}: line 1 {text[:40]!r} is not an X-Ways header (MD5, SHA-1, SHA-256)"
                )
            continue
        if not text.strip():
            continue
        try:
            digest = normalize_hex(text, algorithm)
        except ValueError as exc:
            yield Malformed(number, str(exc))
            continue
        hashes = {"md5": None, "sha1": None, "sha256": None, algorithm: digest}
        yield HashEntry(record=number, **hashes)
    if algorithm is None:
        raise HashSetFormatError(f"{path}: empty file, no X-Ways header")
