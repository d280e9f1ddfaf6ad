"""Extensible Storage Engine ("JET Blue") databases: pictures in binary columns and pages.

Windows keeps much app data in ESE files: the IE/Edge web cache index
``WebCacheV01.dat``, the Windows Search index ``Windows.edb``, SRUM's ``SRUDB.dat``,
Windows Live Mail and Exchange stores (whose attachments are long binary values). The
database is read from the evidence stream, read-only (nothing is replayed or written),
by libesedb (``libesedb-python``, C): every value of a Binary or Long Binary column of a
user table whose first bytes are a picture, a video or a container (``sources.sniff``)
is a member, named ``ESE(table.column,record=N)``: N counts the table's records from 1
in the order of its primary index, the order ``esedbexport`` lists them in; the k-th
value of a multi-valued column is ``[k]``. libesedb hands compressed values over as
stored; they are decompressed by dissect.esedb's decompressor (7-bit and XPRESS). A
record libesedb cannot parse (it refuses some tagged-data layouts) is read again by
dissect.esedb, a pure-Python reader of the same format; what neither reads becomes a
record with its reason, and the walk goes on. The system tables (``MSys*``, the
catalog) hold no app data and are not read for values.

The file's pages are then carved for whole JPEG/PNG/GIF files that are not such a value
(deleted records, values inside other values: ``db.edb@<offset>``).

What WebCacheV01.dat says of the files in ``INetCache`` (their URLs) is not attached to
those files' items: the cached pictures themselves are plain files and are found where
they lie.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from vigil.model import Item, ScanError
from vigil.sources.expand import Budget, Member, register
from vigil.sources.expand.unlisted import Listed, carve_unlisted, carved_after
from vigil.sources.sniff import HEAD_SIZE, OTHER, sniff

STAGE = "expand.ese"
MIME = "application/x-ese-database"
# libesedb's value data flags.
_COMPRESSED = 0x02


def expand_ese(item: Item, stream: BinaryIO, budget: Budget) -> Iterator[Member | ScanError]:
    """Yield the pictures (and containers) in a database's binary values, then its pages'."""
    import pyesedb

    database = pyesedb.file()
    try:
        database.open_file_object(stream)
        tables = [database.get_table(i) for i in range(database.number_of_tables)]
    except OSError as exc:
        # Its pages may still hold pictures: they are carved all the same.
        yield ScanError(item.path, STAGE, f"not a readable ESE database: {_reason(exc)}")
        yield from carve_unlisted(stream, Listed())
        return
    fallback = _Fallback(stream)

    def values() -> Iterator[Member | ScanError]:
        try:
            for table in tables:
                if not table.name.startswith("MSys"):
                    yield from _table_values(item, table, fallback)
        finally:
            database.close()

    yield from carved_after(values(), stream)


def _table_values(item: Item, table: Any, fallback: _Fallback
                  ) -> Iterator[Member | ScanError]:
    import pyesedb

    binary = (pyesedb.column_types.BINARY_DATA, pyesedb.column_types.LARGE_BINARY_DATA)
    where = f"{item.path}!{table.name}"
    try:
        every = [table.get_column(c) for c in range(table.number_of_columns)]
        columns = [(c, column.name) for c, column in enumerate(every) if column.type in binary]
        count = table.number_of_records if columns else 0
    except OSError as exc:
        yield ScanError(where, STAGE, f"table not read: {_reason(exc)}")
        return
    unread: list[int] = []
    for index in range(count):
        try:
            record = table.get_record(index)
        except OSError:
            unread.append(index)
            continue
        yield from _record_members(where, table.name, index + 1, columns,
                                   functools.partial(_values, record))
    if unread:
        yield from fallback.records(item, table.name, [name for _c, name in columns], unread)


def _record_members(where: str, table: str, number: int, columns: list[tuple[Any, str]],
                    read: Callable[[Any], Any]) -> Iterator[Member | ScanError]:
    """The members in record ``number``'s binary ``columns`` (key for ``read``, name);
    a column ``read`` fails on is a record, and the other columns still count."""
    for key, name in columns:
        try:
            value = read(key)
        except Exception as exc:  # the libraries raise many kinds on a damaged value
            yield ScanError(f"{where}(record={number})", STAGE,
                            f"column {name} not read: {_reason(exc)}")
            continue
        yield from _members(table, name, number, value)


def _values(record: Any, column: int) -> list[bytes] | bytes | None:
    """A binary column's value in a libesedb record: bytes, a list (multi-valued) or None."""
    if record.is_long_value(column):
        value = record.get_value_data_as_long_value(column)
        return value.get_data() if value is not None else None
    if record.is_multi_value(column):
        multi = record.get_value_data_as_multi_value(column)
        return [multi.get_value_data(k) for k in range(multi.number_of_values)]
    data = record.get_value_data(column)
    if data and record.get_value_data_flags(column) & _COMPRESSED:
        from dissect.esedb.compression import decompress

        data = decompress(data)
    return data


def _members(table: str, column: str, number: int, value: Any) -> Iterator[Member]:
    values = value if isinstance(value, list) else [value]
    for k, one in enumerate(values, 1):
        if isinstance(one, bytes) and one and sniff(one[:HEAD_SIZE]) != OTHER:
            index = f"[{k}]" if isinstance(value, list) else ""
            yield Member(name=f"ESE({table}.{column}{index},record={number})",
                         stream=io.BytesIO(one), size=len(one), embedded=True,
                         in_archive=False)


class _Fallback:
    """dissect.esedb over the same stream, opened only when libesedb refuses a record."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._db: Any = None

    def records(self, item: Item, table: str, columns: list[str], unread: list[int]
                ) -> Iterator[Member | ScanError]:
        """The values of records ``unread`` (0-based) of ``table``, read by dissect.esedb."""
        where = f"{item.path}!{table}"
        wanted = set(unread)
        try:
            if self._db is None:
                from dissect.esedb import EseDB

                self._db = EseDB(self._stream)
            records = iter(self._db.table(table).records())
            for index in range(max(wanted) + 1):
                record = next(records)
                if index not in wanted:
                    continue
                wanted.discard(index)
                yield from _record_members(where, table, index + 1,
                                           [(name, name) for name in columns], record.get)
        except Exception as exc:
            first = min(wanted) + 1 if wanted else 0
            yield ScanError(where, STAGE, f"{len(wanted)} records from record {first} "
                                          f"not read: {_reason(exc)}")


def _reason(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


register((MIME,), expand_ese)
