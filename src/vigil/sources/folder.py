"""A folder of loose files as an evidence source.

Walks the tree in a stable order (sorted names), follows no symbolic links, and
yields one ``Item`` per regular file with times in UTC (an empty file is an item of
size 0). Everything else is a ``ScanError`` with its reason: a symbolic link (with its
target, never followed), a FIFO, socket or device (never opened: that can block or
read a live device), a directory that cannot be listed, an entry that cannot be
stat'ed. Names that are not valid UTF-8 keep their bytes as surrogate escapes
(``os.fsdecode``), so ``os.fsencode(item.path)`` gives the name back exactly.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import BinaryIO

from vigil.model import Item, ScanError
from vigil.sources import skips


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def _open_readonly(path: str) -> BinaryIO:
    # O_NOATIME keeps the access time of the evidence as it was (needs ownership;
    # fall back silently to a plain read-only open).
    flags = os.O_RDONLY | getattr(os, "O_NOATIME", 0)
    try:
        fd = os.open(path, flags)
    except PermissionError:
        fd = os.open(path, os.O_RDONLY)
    return os.fdopen(fd, "rb", buffering=0)


def _item(rel: str, abs_path: str, st: os.stat_result) -> Item:
    return Item(
        path=rel,
        open=partial(_open_readonly, abs_path),
        size=st.st_size,
        modified=_utc(st.st_mtime),
        accessed=_utc(st.st_atime),
        changed=_utc(st.st_ctime),
        created=_utc(st.st_birthtime) if hasattr(st, "st_birthtime") else None,
        inode=str(st.st_ino),
    )


def _not_a_file(path: str, mode: int) -> str:
    """Why an entry that is neither directory nor regular file is not read."""
    if stat.S_ISLNK(mode):
        try:
            return skips.link(os.fsdecode(os.readlink(path)))
        except OSError:
            return skips.link(None)
    if stat.S_ISFIFO(mode):
        return skips.FIFO
    if stat.S_ISSOCK(mode):
        return skips.SOCKET
    if stat.S_ISCHR(mode):
        return skips.CHAR_DEVICE
    if stat.S_ISBLK(mode):
        return skips.BLOCK_DEVICE
    return skips.unknown(f"mode {stat.filemode(mode)}")


def item_for_file(root: Path, rel: str) -> Item:
    """The Item of one file ``rel`` (``/``-separated) below ``root``."""
    abs_path = os.path.join(root, rel)
    return _item(rel, abs_path, os.stat(abs_path, follow_symlinks=False))


def iter_folder(root: Path) -> Iterator[Item | ScanError]:
    """Yield every regular file below ``root`` as an Item, errors as ScanErrors.

    Item paths are relative to ``root`` with ``/`` separators.
    """
    root = Path(root)
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        abs_dir = os.path.join(root, rel_dir) if rel_dir else str(root)
        try:
            with os.scandir(abs_dir) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield ScanError(rel_dir or ".", "source", f"cannot list directory: {exc.strerror}")
            continue
        subdirs = []
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                yield ScanError(rel, "source", f"cannot stat: {exc.strerror}")
                continue
            if stat.S_ISDIR(st.st_mode):
                subdirs.append(rel)
            elif stat.S_ISREG(st.st_mode):
                yield _item(rel, entry.path, st)
            else:
                yield ScanError(rel, "source", _not_a_file(entry.path, st.st_mode))
        # Depth-first in sorted order: push in reverse so the smallest name pops first.
        stack.extend(reversed(subdirs))
