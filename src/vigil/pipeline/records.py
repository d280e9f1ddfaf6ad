"""Items made safe to send between processes: no opener, plain datetimes."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import BinaryIO

from vigil.model import Item


def _no_bytes() -> BinaryIO:
    raise OSError("item bytes are not carried across processes")


def _plain(value: datetime | None) -> datetime | None:
    # Backends may return datetime subclasses (dfdatetime's, rarfile's nsdatetime once)
    # that do not unpickle.
    if value is None or type(value) is datetime:
        return value
    return datetime(
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
        tzinfo=value.tzinfo,
    )


def detach(item: Item) -> Item:
    """A copy of ``item`` without its opener and with plain datetimes, safe to pickle."""
    return replace(
        item,
        open=_no_bytes,
        created=_plain(item.created),
        modified=_plain(item.modified),
        accessed=_plain(item.accessed),
        changed=_plain(item.changed),
    )
