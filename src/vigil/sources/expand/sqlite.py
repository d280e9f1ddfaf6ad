"""SQLite databases (chat apps, browser and app caches): pictures in BLOB cells and free pages.

The database is opened read-only from memory (``sqlite3`` ``deserialize``; nothing is
written, no journal is replayed). Every BLOB cell of every table whose first bytes are
a picture, a video or a container (``sources.sniff``) is a member, named
``BLOB(table.column,rowid=81)``; other BLOBs (keys, protobufs, compressed rows) are not.
The file's bytes are then carved for whole JPEG/PNG/GIF files that are not a live
BLOB: the cells of deleted rows left in free space and on free pages, pictures inside
other BLOBs or text (``db.sqlite@<offset>``). A BLOB larger than a page is split over
overflow pages, so a deleted one is found only if it fitted in its page. A database
SQLite cannot read gets a record.
"""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterator

from vigil.model import Item, ScanError
from vigil.sources.expand import Member, register
from vigil.sources.expand.unlisted import carved_after
from vigil.sources.expand.whole import in_memory
from vigil.sources.sniff import HEAD_SIZE, OTHER, sniff

STAGE = "expand.sqlite"
MIME = "application/vnd.sqlite3"
MAGIC = b"SQLite format 3\x00"


@in_memory(STAGE)
def expand_sqlite(item: Item, data: bytes) -> Iterator[Member | ScanError]:
    """Yield the pictures (and containers) in a database's BLOBs and free pages."""
    try:
        conn = sqlite3.connect(":memory:")
        conn.deserialize(data)
        conn.execute("PRAGMA query_only = 1")
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )]
    except sqlite3.Error as exc:
        yield ScanError(item.path, STAGE, f"not a readable SQLite database: {exc}")
        return

    def blobs() -> Iterator[Member | ScanError]:
        try:
            for table in tables:
                yield from _table_blobs(item, conn, table)
        finally:
            conn.close()

    yield from carved_after(blobs(), io.BytesIO(data))


def _table_blobs(item: Item, conn: sqlite3.Connection, table: str) -> Iterator[Member | ScanError]:
    quoted = _quote(table)
    try:
        columns = [r[1] for r in conn.execute(f"PRAGMA table_info({quoted})")]
        rows = conn.execute(f"SELECT rowid, * FROM {quoted}")
    except sqlite3.Error as exc:
        # WITHOUT ROWID tables and virtual tables: cells by primary key are not named here.
        yield ScanError(f"{item.path}!{table}", STAGE, f"table not read: {exc}")
        return
    try:
        for row in rows:
            rowid = row[0]
            for column, value in zip(columns, row[1:], strict=False):
                if isinstance(value, bytes) and sniff(value[:HEAD_SIZE]) != OTHER:
                    yield Member(
                        name=f"BLOB({table}.{column},rowid={rowid})",
                        stream=io.BytesIO(value), size=len(value), embedded=True,
                        in_archive=False,
                    )
    except sqlite3.Error as exc:
        yield ScanError(f"{item.path}!{table}", STAGE, f"table read stopped: {exc}")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


register((MIME,), expand_sqlite)
