"""A Google Takeout zip: each file under its path in the export, pictures with capture times.

Google Photos exports each picture or video with a JSON sidecar in the same folder
(``IMG_0001.jpg.json``, newer exports ``IMG_0001.jpg.supplemental-metadata.json``,
long names cut short) whose ``photoTakenTime.timestamp`` (Unix seconds, as a string)
is when it was taken: that is the item's ``created`` time; the zip's own time (the
export) is ``modified``. Sidecars are found by name, then by the copy number moved
behind the extension (``IMG(1).jpg`` -> ``IMG.jpg(1).json``), then for an ``-edited``
copy by the original's name, then by the sidecar's ``title``. Every file of the zip,
sidecars included, is an item.
"""

from __future__ import annotations

import bisect
import json
import posixpath
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from vigil.model import Item, ScanError
from vigil.sources.members import Stored, member_item, members

ROOT = "Takeout/"
_COPY = re.compile(r"^(?P<stem>.*)\((?P<n>\d+)\)(?P<ext>\.[^.]*)$")
_MAX_SIDECAR = 1024 * 1024


def is_takeout(names: list[str]) -> bool:
    """True when an archive with these member names is a Google Takeout export."""
    return any(n.startswith(ROOT) for n in names)


def taken_time(sidecar: dict) -> datetime | None:
    """``photoTakenTime.timestamp`` of a sidecar as a UTC time (None if absent or 0)."""
    try:
        seconds = int(sidecar["photoTakenTime"]["timestamp"])
    except (KeyError, TypeError, ValueError):
        return None
    if seconds <= 0:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _read_sidecar(member: Stored) -> dict | ScanError:
    try:
        with member.open() as stream:
            data = stream.read(_MAX_SIDECAR + 1)
        if len(data) > _MAX_SIDECAR:
            return ScanError(member.name, "source", "sidecar larger than 1 MiB: not read")
        value = json.loads(data)
    except (OSError, ValueError) as exc:
        return ScanError(member.name, "source", f"JSON sidecar unreadable: {exc}")
    return value if isinstance(value, dict) else {}


class Sidecars:
    """The JSON sidecars of one folder of the export, by file name."""

    def __init__(self) -> None:
        self.by_name: dict[str, dict] = {}
        self._sorted: list[str] | None = None
        self._titles: dict[str, list[dict]] | None = None

    def add(self, name: str, value: dict) -> None:
        self.by_name[name] = value
        self._sorted = None
        self._titles = None

    def _starting(self, prefix: str) -> str | None:
        if self._sorted is None:
            self._sorted = sorted(self.by_name)
        i = bisect.bisect_left(self._sorted, prefix)
        if i < len(self._sorted) and self._sorted[i].startswith(prefix):
            return self._sorted[i]
        return None

    def find(self, name: str) -> dict | None:
        """The sidecar of picture ``name`` of this folder (see the module docstring)."""
        found = self._starting(name + ".")
        if found is not None and found.endswith(".json"):
            return self.by_name[found]
        copy = _COPY.match(name)
        if copy:
            moved = f"{copy['stem']}{copy['ext']}({copy['n']}).json"
            if moved in self.by_name:
                return self.by_name[moved]
        stem, ext = posixpath.splitext(name)
        if stem.endswith("-edited"):
            return self.find(stem[: -len("-edited")] + ext)
        if self._titles is None:
            titles: dict[str, list[dict]] = {}
            for value in self.by_name.values():
                titles.setdefault(str(value.get("title")), []).append(value)
            self._titles = titles
        titled = self._titles.get(name, [])
        return titled[0] if len(titled) == 1 else None


def iter_takeout(path: Path) -> Iterator[Item | ScanError]:
    """Yield every file of the Takeout zip at ``path``, pictures with their capture time."""
    listing = members(path)
    yield from (m for m in listing if isinstance(m, ScanError))
    files = [m for m in listing if isinstance(m, Stored) and m.kind == "file"]
    folders: dict[str, Sidecars] = {}
    for m in files:
        if m.name.endswith(".json"):
            value = _read_sidecar(m)
            if isinstance(value, ScanError):
                yield value
                continue
            folder, base = posixpath.split(m.name)
            folders.setdefault(folder, Sidecars()).add(base, value)
    for m in files:
        created = None
        if not m.name.endswith(".json"):
            folder, base = posixpath.split(m.name)
            sidecar = folders[folder].find(base) if folder in folders else None
            created = taken_time(sidecar) if sidecar is not None else None
        yield member_item(m, m.name, created=created)
