"""Expand an item all the way down: sniff, expand, and recurse into every child.

The pipeline may do this recursion itself; ``expand_tree`` is the reference version the
tests use. Besides the depth limit, a container whose bytes equal one of its ancestors'
(a zip that contains itself) is stopped at once with a ScanError.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from vigil.model import Item, ScanError
from vigil.sources.expand import Limits, expander_for
from vigil.sources.sniff import HEAD_SIZE, sniff

STAGE = "expand"


def expand_tree(
    item: Item, limits: Limits | None = None, _ancestors: frozenset[str] = frozenset()
) -> Iterator[Item | ScanError]:
    """Yield every descendant of ``item`` (not ``item`` itself) and every error.

    Args:
        item: Any item; nothing is yielded if it is not a container.
        limits: Bomb guards; defaults to ``Limits()``.

    Returns:
        An iterator of descendant ``Item``s (depth-first) and ``ScanError``s.
    """
    limits = limits or Limits()
    try:
        with item.open() as stream:
            head = stream.read(HEAD_SIZE)
    except Exception as exc:  # noqa: BLE001 - any failure to read is a recorded error
        if item.depth > 0:
            yield ScanError(item.path, STAGE, f"cannot read: {type(exc).__name__}: {exc}")
        return
    expander = expander_for(sniff(head).mime)
    if expander is None:
        return
    digest = _digest(item)
    if digest in _ancestors:
        yield ScanError(item.path, STAGE, "recursion: same content as an enclosing container")
        return
    for found in expander(item, limits):
        yield found
        if isinstance(found, Item) and not found.encrypted:
            yield from expand_tree(found, limits, _ancestors | {digest})


def _digest(item: Item) -> str:
    sha1 = hashlib.sha1()
    with item.open() as stream:
        while chunk := stream.read(1 << 20):
            sha1.update(chunk)
    return sha1.hexdigest()
