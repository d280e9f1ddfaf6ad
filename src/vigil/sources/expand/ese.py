"""Extensible Storage Engine ("JET Blue") databases: pictures in binary columns and pages.

Windows keeps much app data in ESE files: the IE/Edge web cache index
``WebCacheV01.dat``, the Windows Search index ``Windows.edb``, SRUM's ``SRUDB.dat``,
Windows Live Mail and Exchange stores (whose attachments are long binary values). The
database is read with dissect.esedb from the evidence stream (seekable, read-only:
nothing is replayed or written). Every value of a Binary or Long Binary column whose
first bytes are a picture, a video or a container (``sources.sniff``) is a member, named
``ESE(table.column,record=N)``: N counts the table's records from 1 in the order of its
primary index, the order ``esedbexport`` lists them in; a multi-valued column's values
are ``[k]`` from 1. The file's pages are then carved for whole JPEG/PNG/GIF files that
are not such a value (deleted records, values inside other values:
``db.edb@<offset>``). A table or record the library cannot read becomes a record with
its reason, and the walk goes on with the next.

What WebCacheV01.dat says of the files in ``INetCache`` (their URLs) is not attached to
those files' items: the cached pictures themselves are plain files and are found where
they lie.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any, BinaryIO

from vigil.model import Item, ScanError
from vigil.sources.expand import Budget, Member, register
from vigil.sources.expand.unlisted import Listed, carve_unlisted
from vigil.sources.sniff import HEAD_SIZE, OTHER, sniff

STAGE = "expand.ese"
MIME = "application/x-ese-database"
_BINARY_TYPES = ("Binary", "LongBinary")


def expand_ese(item: Item, stream: BinaryIO, budget: Budget) -> Iterator[Member | ScanError]:
    """Yield the pictures (and containers) in a database's binary values, then its pages'."""
    from dissect.esedb import EseDB

    try:
        db = EseDB(stream)
        tables = list(db.tables())
    except Exception as exc:  # the library raises many kinds on a damaged file
        yield ScanError(item.path, STAGE, f"not a readable ESE database: {_reason(exc)}")
        return
    listed = Listed()
    for table in tables:
        for found in _table_values(item, table):
            if isinstance(found, Member):
                listed.add(found.stream.getvalue())  # type: ignore[attr-defined]
            yield found
    yield from carve_unlisted(stream, listed)


def _table_values(item: Item, table: Any) -> Iterator[Member | ScanError]:
    where = f"{item.path}!{table.name}"
    try:
        columns = [c.name for c in table.columns if c.type.name in _BINARY_TYPES]
    except Exception as exc:
        yield ScanError(where, STAGE, f"columns not read: {_reason(exc)}")
        return
    if not columns:
        return
    number = 0
    records = iter(table.records())
    while True:
        try:
            record = next(records)
        except StopIteration:
            return
        except Exception as exc:
            yield ScanError(where, STAGE, f"records after {number} not read: {_reason(exc)}")
            return
        number += 1
        for column in columns:
            try:
                value = record.get(column)
            except Exception as exc:
                yield ScanError(f"{where}(record={number})", STAGE,
                                f"column {column} not read: {_reason(exc)}")
                continue
            values = value if isinstance(value, list) else [value]
            for k, one in enumerate(values, 1):
                if isinstance(one, bytes) and one and sniff(one[:HEAD_SIZE]) != OTHER:
                    index = f"[{k}]" if isinstance(value, list) else ""
                    yield Member(
                        name=f"ESE({table.name}.{column}{index},record={number})",
                        stream=io.BytesIO(one), size=len(one), embedded=True,
                        in_archive=False,
                    )


def _reason(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


register((MIME,), expand_ese)
