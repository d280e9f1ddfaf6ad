"""The reference walk of one file in memory, as the expander tests compare it."""

from __future__ import annotations

import hashlib
import io

from vigil.model import Item, ScanError
from vigil.sources.expand.recurse import expand_tree


def expand_md5(data: bytes, name: str) -> list[tuple[str, str] | ScanError]:
    """Every descendant of the file ``name`` holding ``data``: ``(path, md5)`` or a record."""
    results = expand_tree(Item(path=name, open=lambda: io.BytesIO(data), size=len(data)))
    return [(r.path, hashlib.md5(r.open().read()).hexdigest()) if isinstance(r, Item) else r
            for r in results]
