"""An iCloud Photos download (Apple's "Request a copy of your data"): capture times from CSVs.

Apple delivers ``iCloud Photos Part 1 of N.zip`` ... with the originals in a ``Photos/``
folder (HEIC, JPEG, PNG, MOV, MP4) beside ``Photo Details.csv`` (more rows in
``Photo Details-1.csv``, ...), whose header is ``imgName, fileChecksum, favorite, hidden,
deleted, originalCreationDate, viewCount, importDate`` and whose dates read
``Saturday June 4,2022 12:11 PM GMT``. Media the account holder had deleted is in
``Recently Deleted/``. The zip's own member times are the export's, not the pictures'.

Each file of the zip is an item under its path in the export; a picture or video named
in a CSV of its own folder (or of the part's ``Photos/`` folder, for ``Recently
Deleted/``) gets ``originalCreationDate`` as its ``created`` time; one whose row says
``deleted`` yes, or that lies in ``Recently Deleted/``, is marked deleted. A CSV row that
cannot be read is a record; the picture is still an item.
"""

from __future__ import annotations

import csv
import io
import posixpath
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from vigil.model import Item, ScanError
from vigil.sources.members import Stored, member_item, members

_DETAILS = re.compile(r"(^|/)Photo Details(-\d+)?\.csv$", re.IGNORECASE)
_DELETED_FOLDER = "Recently Deleted"
_MAX_CSV = 64 * 2**20
_FORMATS = ("%A %B %d,%Y %I:%M %p %Z", "%A %B %d, %Y %I:%M %p %Z")


def is_icloud(names: list[str]) -> bool:
    """True when an archive with these member names is an iCloud Photos download."""
    return any(_DETAILS.search(n) for n in names)


def creation_time(text: str) -> datetime | None:
    """``originalCreationDate`` (``Saturday June 4,2022 12:11 PM GMT``) as UTC, or None."""
    text = " ".join(text.split())
    for fmt in _FORMATS:
        try:
            value = datetime.strptime(text, fmt)
        except ValueError:
            continue
        if text.endswith((" GMT", " UTC")):
            return value.replace(tzinfo=UTC)
    return None


def _read_details(member: Stored) -> tuple[dict[str, tuple[datetime | None, bool]], list]:
    """``{imgName: (created, deleted)}`` of one Photo Details CSV, and its records."""
    rows: dict[str, tuple[datetime | None, bool]] = {}
    errors: list[ScanError] = []
    try:
        with member.open() as stream:
            data = stream.read(_MAX_CSV + 1)
    except OSError as exc:
        return rows, [ScanError(member.name, "source", f"Photo Details unreadable: {exc}")]
    if len(data) > _MAX_CSV:
        errors.append(ScanError(member.name, "source", "larger than 64 MiB: read up to there"))
        data = data[:_MAX_CSV]
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig", "replace")))
    try:
        for line, row in enumerate(reader, start=2):
            name = (row.get("imgName") or "").strip()
            if not name:
                continue
            raw = (row.get("originalCreationDate") or "").strip()
            created = creation_time(raw) if raw else None
            if raw and created is None:
                errors.append(
                    ScanError(member.name, "source", f"line {line}: date not read: {raw!r}")
                )
            deleted = (row.get("deleted") or "").strip().lower() in ("yes", "true")
            rows[name] = (created, deleted)
    except csv.Error as exc:
        errors.append(ScanError(member.name, "source", f"CSV damaged, read up to there: {exc}"))
    return rows, errors


def _details_folder(folder: str) -> str:
    """The folder whose CSVs describe the files of ``folder``."""
    head, tail = posixpath.split(folder)
    return posixpath.join(head, "Photos") if tail == _DELETED_FOLDER else folder


def iter_icloud(path: Path) -> Iterator[Item | ScanError]:
    """Yield every file of the iCloud Photos zip at ``path``, media with capture times."""
    listing = members(path)
    yield from (m for m in listing if isinstance(m, ScanError))
    files = [m for m in listing if isinstance(m, Stored) and m.kind == "file"]
    details: dict[str, dict[str, tuple[datetime | None, bool]]] = {}
    for m in files:
        if _DETAILS.search(m.name):
            rows, errors = _read_details(m)
            yield from errors
            details.setdefault(posixpath.dirname(m.name), {}).update(rows)
    for m in files:
        folder, base = posixpath.split(m.name)
        created, deleted = details.get(_details_folder(folder), {}).get(base, (None, False))
        deleted = deleted or posixpath.basename(folder) == _DELETED_FOLDER
        yield member_item(m, m.name, created=created, deleted=deleted)
