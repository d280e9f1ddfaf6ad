"""An Android full-file-system extraction (a zip or tar): each file under its device path.

Tools write the device's tree from its root (``data/``, ``system/``, sometimes inside
one folder such as ``Dump/``). The device root is where ``data/media/0/`` or
``data/data/`` begins. Shared storage has several names on a device (``/sdcard``,
``/storage/emulated/0``, ``/storage/self/primary``, ``/mnt/sdcard``), all the one
folder ``/data/media/0``; an extraction that holds it under two names holds each file
twice. Here every file is one item under its real path: an alias copy of the same size
as the real file is not scanned again, an alias file without a real copy is named by
its real path, and each alias used is recorded once (how many files it held).
Symbolic and hard links carry no bytes of their own and are not items.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from vigil.model import Item, ScanError
from vigil.sources.extraction import unique
from vigil.sources.members import Stored, member_item, members

SHARED_STORAGE = "/data/media/0/"
ALIASES = (
    "/sdcard/",
    "/storage/emulated/0/",
    "/storage/self/primary/",
    "/mnt/sdcard/",
    "/storage/emulated/legacy/",
)
_MARKERS = ("data/media/0/", "data/data/")


def _norm(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name.lstrip("/")


def device_root(names: list[str]) -> str | None:
    """The folder of the archive that is the device's ``/``, or None if not Android."""
    for raw in names:
        name = _norm(raw)
        for marker in _MARKERS:
            i = name.find(marker)
            if i == 0 or (i > 0 and name[i - 1] == "/"):
                return name[:i]
    for raw in names:
        if _norm(raw).startswith(tuple(a[1:] for a in ALIASES)):
            return ""
    return None


def device_path(name: str, root: str) -> str | None:
    """The path on the device of archive member ``name``, or None if outside the root."""
    name = _norm(name)
    if not name.startswith(root):
        return None
    return "/" + name[len(root) :]


def resolve(path: str) -> tuple[str, str | None]:
    """``(real path, alias it was reached through or None)`` for a device path."""
    for alias in ALIASES:
        if path.startswith(alias):
            return SHARED_STORAGE + path[len(alias) :], alias.rstrip("/")
    return path, None


def iter_android(path: Path) -> Iterator[Item | ScanError]:
    """Yield each file of the Android extraction at ``path`` once, by its device path."""
    listing = members(path)
    yield from (m for m in listing if isinstance(m, ScanError))
    files = [m for m in listing if isinstance(m, Stored) and m.kind == "file"]
    root = device_root([m.name for m in files]) or ""
    real_sizes: dict[str, int | None] = {}
    for m in files:
        where = device_path(m.name, root)
        if where is not None and resolve(where)[1] is None:
            real_sizes[where] = m.size
    aliases: dict[str, list[int]] = {}
    seen: dict[str, int] = {}
    for m in files:
        where = device_path(m.name, root)
        if where is None:
            name = _norm(m.name)
        else:
            real, alias = resolve(where)
            if alias is not None:
                counts = aliases.setdefault(alias, [0, 0])
                if real in real_sizes and real_sizes[real] == m.size:
                    counts[0] += 1
                    continue
                counts[1] += 1
                # An alias file unlike the real one keeps its own name; else the real name.
                if real in real_sizes:
                    name = where
                else:
                    real_sizes[real] = m.size
                    name = real
            else:
                name = where
        yield member_item(m, unique(name, seen))
    for alias, (same, own) in aliases.items():
        yield ScanError(
            alias,
            "source",
            f"alias of {SHARED_STORAGE.rstrip('/')}: {same} files there are the same files and "
            f"were scanned once under {SHARED_STORAGE.rstrip('/')}; {own} found only here",
        )
