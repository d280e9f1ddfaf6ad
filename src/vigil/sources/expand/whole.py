"""Expanders of formats parsed in memory: the container is read whole, then parsed.

``@in_memory(STAGE)`` turns ``parse(item, data) -> Iterator[Member | ScanError]`` into
an ``Expander``: the container's bytes are read with ``read_whole`` (a record instead
if they cannot be, or are too large), so each format module only parses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import wraps
from typing import BinaryIO

from vigil.model import Item, ScanError
from vigil.sources.expand import Budget, Expander, Member, read_whole

Parser = Callable[[Item, bytes], Iterator[Member | ScanError]]


def in_memory(stage: str) -> Callable[[Parser], Expander]:
    """Decorate a parser of a whole container's bytes into an expander."""

    def wrap(parse: Parser) -> Expander:
        @wraps(parse)
        def expander(item: Item, stream: BinaryIO, budget: Budget
                     ) -> Iterator[Member | ScanError]:
            data = read_whole(item, stream, stage)
            if isinstance(data, ScanError):
                yield data
                return
            yield from parse(item, data)

        return expander

    return wrap
