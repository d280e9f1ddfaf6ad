"""Expanders: walk a container once, front to back, yielding its members as they stream out.

An expander module registers itself for the MIME types ``sources.sniff`` reports:

    register(("application/zip",), expand_zip)

and is a generator ``expand(container, stream, budget) -> Iterator[Member | ScanError]``.
``stream`` is the container's bytes, seekable, positioned at 0. Each ``Member`` carries
a forward-only ``stream`` of its bytes that is valid only until the expander is asked
for the next member: the caller consumes it (hash, sniff, decode, walk it if it is a
container) before moving on, and nothing ever re-opens an enclosing container. Member
names are never written to disk.

``budget`` (``budget.py``) is the top-level item's: members, expanded bytes, depth and
time are counted across every level below it. An expander calls ``budget.admit`` for
every member and stops when it says so; the budget records the reason once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from vigil.model import MEMBER_SEP, OFFSET_SEP, Item, ScanError
from vigil.sources.expand.budget import Budget, Limits

__all__ = ["Budget", "Expander", "Limits", "Member", "child_item", "expander_for", "register"]


@dataclass
class Member:
    """One member of a container, while the walk is on it.

    ``name`` becomes ``parent!name``; with ``offset`` set (embedded data found at a byte
    offset) the child is ``parent@offset`` (or ``parent!name@offset`` when both are set).
    """

    name: str
    stream: BinaryIO
    size: int | None = None
    modified: datetime | None = None
    offset: int | None = None
    embedded: bool = False
    in_archive: bool = True
    encrypted: bool = False


Expander = Callable[[Item, BinaryIO, Budget], Iterator[Member | ScanError]]


def child_item(
    item: Item, member: Member, names: dict[str, int]
) -> tuple[Item, ScanError | None]:
    """The child item of container ``item`` for ``member``, and a record if its path repeats.

    ``names`` counts the paths already given under ``item``: a second member of the
    same name becomes ``name[#2]`` (with a record), never a silent duplicate.
    The child's ``open`` fails until the walk gives it bytes to read again.
    """
    segment = MEMBER_SEP + member.name if member.name else ""
    if member.offset is not None:
        segment += f"{OFFSET_SEP}{member.offset}"
    path = item.path + segment
    seen = names.get(path, 0) + 1
    names[path] = seen
    repeated = None
    if seen > 1:
        path = f"{path}[#{seen}]"
        repeated = ScanError(
            path, "expand", f"member name repeated in the container: occurrence {seen}"
        )
    child = Item(
        path=path,
        open=_not_kept,
        size=member.size,
        modified=member.modified,
        allocated=item.allocated,
        deleted=item.deleted,
        carved=item.carved,
        embedded=member.embedded,
        in_archive=member.in_archive,
        encrypted=member.encrypted,
        offset=member.offset,
        parent=item.path,
        depth=item.depth + 1,
    )
    return child, repeated


def _not_kept() -> BinaryIO:
    raise OSError("member bytes were not kept (neither a picture, a video nor a container)")

_REGISTRY: dict[str, Expander] = {}
# Whether an expander is used, from the scan's limits and the content's first bytes
# (None when the caller has not read them): carving inside files is a setting, and a
# JPEG is a container only if its head shows EXIF or MPF segments.
Enabled = Callable[[Limits, bytes | None], bool]
_ENABLED: dict[str, Enabled] = {}


def register(mimes: tuple[str, ...], expander: Expander, enabled: Enabled | None = None) -> None:
    """Register ``expander`` for each MIME type; a type registered twice is an error.

    ``enabled``, if given, says from a scan's limits and a content's head whether the
    expander is used for it.
    """
    for mime in mimes:
        if mime in _REGISTRY:
            raise KeyError(f"an expander for {mime!r} is already registered")
        _REGISTRY[mime] = expander
        if enabled is not None:
            _ENABLED[mime] = enabled


def expander_for(
    mime: str, limits: Limits | None = None, head: bytes | None = None
) -> Expander | None:
    """The expander registered for ``mime`` and on (under ``limits``, for ``head``), or None."""
    _load_builtin()
    enabled = _ENABLED.get(mime)
    if enabled is not None and not enabled(limits or Limits(), head):
        return None
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

    skip = {"budget", "members", "recurse", "unlisted", "whole"}
    for info in pkgutil.iter_modules(__path__):
        if info.name not in skip:
            importlib.import_module(f"{__name__}.{info.name}")


# Formats parsed in memory (OLE, PDF, thumbcache) are read whole up to this size.
WHOLE_LIMIT = 2 * 1024**3


def read_whole(item: Item, stream: BinaryIO, stage: str) -> bytes | ScanError:
    """The container's bytes in memory, or a ScanError if it cannot be or is too large."""
    try:
        data = stream.read(WHOLE_LIMIT + 1)
    except OSError as exc:
        return ScanError(item.path, stage, f"cannot read: {exc}")
    if len(data) > WHOLE_LIMIT:
        return ScanError(item.path, stage, f"larger than {WHOLE_LIMIT} bytes: not parsed")
    return data


def embedded(piece: bytes, offset: int, name: str = "") -> Member:
    """A picture found at ``offset`` inside a container (``parent@offset``)."""
    import io

    return Member(
        name=name,
        stream=io.BytesIO(piece),
        size=len(piece),
        offset=offset,
        embedded=True,
        in_archive=False,
    )
