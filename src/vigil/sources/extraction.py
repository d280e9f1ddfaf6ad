"""Phone extractions and cloud returns as evidence kinds of their own.

``extraction_kind`` recognises one from its content (never from its name):

* ``ufdr``: a zip with ``report.xml`` at its root (Cellebrite Reader file),
* ``ios_backup``: a folder with ``Manifest.db`` / ``Manifest.plist`` (iTunes/Finder),
* ``android_fs``: a zip or tar of an Android file system (``data/media/0``, ``sdcard``),
* ``takeout``: a Google Takeout zip (``Takeout/`` at its root),
* ``icloud``: an iCloud Photos download zip (a ``Photo Details.csv`` in it).

Each kind's module yields top-level Items named by the path on the device (or in the
account) with the times the extraction records. A worker finds its unit's items again
with ``items_for_unit``: the extraction is listed once per process and kept, so each
unit costs a dictionary look-up per item and each item one seek to its data. Live
Photos (``live_photos.py``) are linked still to video in every kind.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from vigil.model import Item, ScanError
from vigil.sources.members import Stored, archive_type, forget, members

KINDS = ("ufdr", "ios_backup", "android_fs", "takeout", "icloud")


def extraction_kind(path: Path) -> str | None:
    """The extraction kind of the folder or file at ``path``, or None if it is none."""
    path = Path(path)
    if path.is_dir():
        from vigil.sources.ios_backup import is_backup

        return "ios_backup" if is_backup(path) else None
    container = archive_type(path)
    if container is None:
        return None
    names = [m.name for m in members(path) if isinstance(m, Stored)]
    kind = _kind_of_archive(container, names)
    if kind is None:
        forget()
    return kind


def _kind_of_archive(container: str, names: list[str]) -> str | None:
    if container == "zip":
        from vigil.sources.takeout import is_takeout
        from vigil.sources.ufdr import is_ufdr

        if is_ufdr(names):
            return "ufdr"
        if is_takeout(names):
            return "takeout"
        from vigil.sources.icloud import is_icloud

        if is_icloud(names):
            return "icloud"
    from vigil.sources.android import device_root

    return "android_fs" if device_root(names) is not None else None


def _lister(kind: str) -> Callable[..., Iterator[Item | ScanError]]:
    if kind == "ufdr":
        from vigil.sources.ufdr import iter_ufdr

        return iter_ufdr
    if kind == "ios_backup":
        from vigil.sources.ios_backup import iter_backup

        return iter_backup
    if kind == "android_fs":
        from vigil.sources.android import iter_android

        return iter_android
    if kind == "takeout":
        from vigil.sources.takeout import iter_takeout

        return iter_takeout
    if kind == "icloud":
        from vigil.sources.icloud import iter_icloud

        return iter_icloud
    raise ValueError(f"not an extraction kind: {kind}")


def iter_extraction(
    kind: str, path: Path, password_file: str | None = None
) -> Iterator[Item | ScanError]:
    """Yield the items of the extraction at ``path`` (of ``kind``), errors as ScanErrors.

    ``password_file``: the password of an encrypted iOS backup (other kinds ignore it).
    Live Photos (a still and its video side by side) are linked to each other.
    """
    from vigil.sources.live_photos import link

    if kind == "ios_backup":
        entries = _lister(kind)(Path(path), password_file)
    else:
        entries = _lister(kind)(Path(path))
    return iter(link(list(entries)))


_KIND_NAMES = {
    "android_fs": "Android full file system",
    "takeout": "Google Takeout",
    "icloud": "iCloud Photos download",
}


def extraction_info(kind: str, path: Path) -> dict[str, str | None]:
    """What the extraction says made it: ``extraction_type``, ``extraction_tool``,
    ``extraction_version`` and ``device`` (None where it does not say)."""
    if kind == "ufdr":
        from vigil.sources.ufdr import ufdr_info

        return ufdr_info(Path(path))
    if kind == "ios_backup":
        from vigil.sources.ios_backup import backup_info

        return backup_info(Path(path))
    return {
        "extraction_type": _KIND_NAMES.get(kind, kind),
        "extraction_tool": None,
        "extraction_version": None,
        "device": None,
    }


_INDEX: dict[tuple[str, str, int, int, str | None], dict[str, Item]] = {}
_INDEX_LOCK = threading.Lock()


def items_for_unit(
    kind: str, evidence: Path, paths: tuple[str, ...], password_file: str | None = None
) -> list[Item]:
    """The items named ``paths`` of the extraction at ``evidence``, in that order.

    The extraction is listed on the first call in a process and kept (one extraction
    at a time); a path no longer there is left out, which the caller reports as a
    changed evidence.
    """
    st = os.stat(evidence)
    key = (kind, str(evidence), st.st_mtime_ns, st.st_size, password_file)
    with _INDEX_LOCK:
        index = _INDEX.get(key)
        if index is None:
            index = {
                i.path: i
                for i in iter_extraction(kind, Path(evidence), password_file)
                if isinstance(i, Item)
            }
            _INDEX.clear()
            _INDEX[key] = index
    return [index[p] for p in paths if p in index]


def unique(path: str, seen: dict[str, int]) -> str:
    """``path``, or ``path[#n]`` for its n-th occurrence (as repeated container members)."""
    count = seen.get(path, 0) + 1
    seen[path] = count
    return path if count == 1 else f"{path}[#{count}]"
