"""The reasons recorded for entries that are listed but not read as items.

One wording for every source (folder, dfvfs walk, Sleuth Kit walk), so a report or a
search for "symbolic link" finds them all. Each function returns the reason text of a
``ScanError``; the stage is the caller's (``source``, ``walk``, ``deleted``).
"""

from __future__ import annotations

LOOP = "directory loop"


def link(target: str | None) -> str:
    """A symbolic link: never followed, its target recorded."""
    if target is None:
        return "symbolic link (target unreadable), not followed"
    return f"symbolic link to {target!r}, not followed"


def special(kind: str) -> str:
    """A FIFO, socket or device node: listed, never opened (opening one can block)."""
    return f"{kind}, not read"


FIFO = special("FIFO (named pipe)")
SOCKET = special("socket")
BLOCK_DEVICE = special("block device")
CHAR_DEVICE = special("character device")


def unknown(detail: str) -> str:
    """An entry that is neither file, directory, link, FIFO, socket nor device."""
    return f"entry of unknown type ({detail}), not read"


def loop(first: str) -> str:
    """A directory whose content was already walked under another path."""
    return f"{LOOP}: same directory as {first!r} (not walked again)"
