"""NIST NSRL RDS v3 SQLite releases: distinct hashes from the ``FILE`` table or view."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

from vigil.errors import HashSetFormatError
from vigil.hashsets.entry import HashEntry, Malformed, Truncated, normalize_hex

NAME = "nsrl_v3"
HAS_CATEGORIES = False
KNOWN_GOOD = True

SQLITE_MAGIC = b"SQLite format 3\x00"

# FILE repeats a hash once per package; group so each distinct hash is one entry.
# In full releases FILE is a view, so it is queried by name and never by table type.
_QUERY = """
SELECT sha256, sha1, md5, MIN(file_size), MIN(file_name)
FROM FILE
GROUP BY sha256, sha1, md5
"""


def _connect(path: Path) -> sqlite3.Connection:
    # Read-only URI: an NSRL release is reference data and is never written to.
    uri = path.resolve().as_uri() + "?mode=ro"
    try:
        return sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise HashSetFormatError(f"{path}: cannot open as SQLite: {exc}") from exc


def _has_file_relation(connection: sqlite3.Connection) -> bool:
    row = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND upper(name) = 'FILE'"
    ).fetchone()
    return row is not None


def sniff(head: bytes, path: Path) -> bool:
    """Tell whether the file is an SQLite database with a ``FILE`` table or view.

    Args:
        head: The first bytes of the file.
        path: The file, opened read-only when the SQLite magic is present.

    Returns:
        True for an RDS v3 database.
    """
    if not head.startswith(SQLITE_MAGIC):
        return False
    try:
        with closing(_connect(path)) as connection:
            return _has_file_relation(connection)
    except (HashSetFormatError, sqlite3.Error):
        return False


def header(path: Path) -> dict[str, object]:
    """Read the release description from the ``VERSION`` table, when there is one.

    Args:
        path: The RDS v3 database.

    Returns:
        ``{"version": ..., "build_set": ..., "release_date": ..., "description": ...}``,
        or an empty dict when the database has no readable VERSION table.
    """
    try:
        with closing(_connect(path)) as connection:
            row = connection.execute(
                "SELECT version, build_set, release_date, description FROM VERSION "
                "ORDER BY version DESC LIMIT 1"
            ).fetchone()
    except (HashSetFormatError, sqlite3.Error):
        return {}
    if row is None:
        return {}
    return dict(zip(("version", "build_set", "release_date", "description"), row, strict=True))


def _entry(row: tuple[object, ...], number: int) -> HashEntry:
    sha256, sha1, md5, size, name = row
    if size is not None and not isinstance(size, int):
        raise ValueError(f"file_size {size!r} is not an integer")
    return HashEntry(
        md5=normalize_hex(md5, "md5"),
        sha1=normalize_hex(sha1, "sha1"),
        sha256=normalize_hex(sha256, "sha256"),
        size=size,
        name=name if isinstance(name, str) and name else None,
        record=number,
    )


def read(path: Path) -> Iterator[HashEntry | Malformed | Truncated]:
    """Read the distinct hashes of an RDS v3 release.

    Args:
        path: The SQLite database, opened read-only.

    Returns:
        An iterator of entries (record = row index of the distinct-hash query),
        ``Malformed`` for rows with bad hashes, and a last ``Truncated`` when the
        database breaks part way through.

    Raises:
        HashSetFormatError: If the file is not SQLite or has no ``FILE`` table or view.
    """
    try:
        with path.open("rb") as handle:
            magic = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise HashSetFormatError(f"{path}: cannot open: {exc.strerror or exc}") from exc
    if magic != SQLITE_MAGIC:
        raise HashSetFormatError(f"{path}: not an SQLite database, so not NSRL RDS v3")
    with closing(_connect(path)) as connection:
        number = 0
        try:
            if not _has_file_relation(connection):
                raise HashSetFormatError(f"{path}: SQLite database without a FILE table or view")
            cursor = connection.execute(_QUERY)
            while rows := cursor.fetchmany(10_000):
                for row in rows:
                    number += 1
                    try:
                        yield _entry(row, number)
                    except ValueError as exc:
                        yield Malformed(number, str(exc))
        except sqlite3.Error as exc:
            if number == 0:
                raise HashSetFormatError(
                    f"{path}: cannot read the NSRL FILE table: {exc}"
                ) from exc
            # A damaged database part way: the distinct hashes read so far stand.
            yield Truncated(number + 1, f"the database breaks after {number} rows: {exc}")
