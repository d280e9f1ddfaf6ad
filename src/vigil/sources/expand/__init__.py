"""Expanders: turn a container item into its child items.

An expander module registers itself for the MIME types ``sources.sniff`` reports:

    register(("application/zip",), expand_zip)

and is a generator ``expand(item, limits) -> Iterator[Item | ScanError]``. Children
get ``path = item.path + "!" + member`` (or ``"@offset"`` for embedded data),
``parent = item.path``, ``depth = item.depth + 1`` and ``in_archive``/``embedded``
set. Member names are never written to disk. A limit that is hit becomes a
``ScanError`` naming the limit, never an exception.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from vigil.model import Item, ScanError


@dataclass(frozen=True)
class Limits:
    """Guards against archive bombs and runaway recursion."""

    max_depth: int = 8
    max_ratio: float = 100.0
    max_member_bytes: int = 4 * 1024**3
    max_total_bytes: int = 16 * 1024**3
    max_entries: int = 100_000


Expander = Callable[[Item, Limits], Iterator[Item | ScanError]]

_REGISTRY: dict[str, Expander] = {}


def register(mimes: tuple[str, ...], expander: Expander) -> None:
    """Register ``expander`` for each MIME type; a type registered twice is an error."""
    for mime in mimes:
        if mime in _REGISTRY:
            raise KeyError(f"an expander for {mime!r} is already registered")
        _REGISTRY[mime] = expander


def expander_for(mime: str) -> Expander | None:
    """The expander registered for ``mime``, or None."""
    _load_builtin()
    return _REGISTRY.get(mime)


_loaded = False


def _load_builtin() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    # Built-in expanders register on import; each module is one container kind.
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
