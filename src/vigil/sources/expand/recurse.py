"""Expand an item all the way down, in memory: the reference walk the tests use.

The scan's own walk (``pipeline/walk.py``) streams members and keeps only what it must
read twice; this one reads every member into memory, so the items it yields stay
readable afterwards. Same expanders, same child paths, same budgets.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from collections.abc import Iterator
from dataclasses import replace

from vigil.model import Item, ScanError
from vigil.sources.expand import Limits, child_item, expander_for
from vigil.sources.expand.budget import Budget, BudgetExceeded
from vigil.sources.expand.firefox_cache import kind_of
from vigil.sources.sniff import HEAD_SIZE

STAGE = "expand"


def expand_tree(
    item: Item, limits: Limits | None = None, _ancestors: frozenset[str] = frozenset()
) -> Iterator[Item | ScanError]:
    """Yield every descendant of ``item`` (not ``item`` itself) and every error.

    Args:
        item: Any item; nothing is yielded if it is not a container.
        limits: Budgets; defaults to ``Limits()``.

    Returns:
        An iterator of descendant ``Item``s (depth-first) and ``ScanError``s.
    """
    budget = Budget(item.path, limits or Limits(), size=item.size)
    with contextlib.suppress(BudgetExceeded):
        yield from _expand(item, budget, _ancestors)
    if budget.exceeded is not None:
        yield budget.exceeded


def _expand(item: Item, budget: Budget, ancestors: frozenset[str]) -> Iterator[Item | ScanError]:
    try:
        with item.open() as stream:
            data = stream.read()
    except Exception as exc:  # noqa: BLE001 - any failure to read is a recorded error
        if item.depth > 0:
            yield ScanError(item.path, STAGE, f"cannot read: {type(exc).__name__}: {exc}")
        return
    head = data[:HEAD_SIZE]
    expander = expander_for(kind_of(head, io.BytesIO(data)).mime, budget.limits, head)
    if expander is None:
        return
    digest = hashlib.sha1(data).hexdigest()
    if digest in ancestors:
        yield ScanError(item.path, STAGE, "recursion: same content as an enclosing container")
        return
    names: dict[str, int] = {}
    for found in expander(item, io.BytesIO(data), budget):
        if isinstance(found, ScanError):
            yield found
            continue
        child, repeated = child_item(item, found, names)
        if repeated is not None:
            yield repeated
        budget.admit()
        if child.encrypted:
            yield child
            continue
        try:
            body = _read_charged(found.stream, budget)
        except OSError as exc:
            yield ScanError(child.path, "read", f"{type(exc).__name__}: {exc}")
            continue
        child = replace(child, open=lambda body=body: io.BytesIO(body))
        yield child
        head = body[:HEAD_SIZE]
        if expander_for(kind_of(head, io.BytesIO(body)).mime, budget.limits, head) is None:
            continue
        if (deep := budget.depth_error(child.path, child.depth)) is not None:
            yield deep
            continue
        yield from _expand(child, budget, ancestors | {digest})


def _read_charged(stream: io.RawIOBase | io.BufferedIOBase, budget: Budget) -> bytes:
    parts = []
    while chunk := stream.read(1 << 20):
        budget.charge(len(chunk))
        parts.append(chunk)
    return b"".join(parts)
