"""An iTunes/Finder iOS backup folder: each file under ``domain/relativePath``.

The backup stores every file as ``fileID[:2]/fileID`` (fileID: SHA-1 of the domain
and path). ``Manifest.db`` (SQLite) maps them back: its ``Files`` table has
``fileID, domain, relativePath, flags`` (1 = file) and ``file``, an NSKeyedArchiver
plist of the ``MBFile`` record with ``Size``, ``LastModified``, ``Birth``,
``LastStatusChange`` and ``InodeNumber``. ``Manifest.plist`` says whether the backup
is encrypted (``IsEncrypted``).

A file the manifest lists but the folder lacks is a ScanError. Every file of the
folder the manifest does not account for (``Manifest.db`` itself, ``Info.plist``, or
everything when the manifest is unreadable or encrypted) is still an item, named by
its path in the backup folder. Decryption is not done here.
"""

from __future__ import annotations

import os
import plistlib
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from vigil.model import Item, ScanError
from vigil.sources.folder import item_for_file, iter_folder

MANIFEST_DB = "Manifest.db"
MANIFEST_PLIST = "Manifest.plist"
_FILE = 1


def is_backup(path: Path) -> bool:
    """True when the folder at ``path`` is an iOS backup."""
    return (path / MANIFEST_DB).is_file() or (path / MANIFEST_PLIST).is_file()


def is_encrypted(path: Path) -> tuple[bool, ScanError | None]:
    """Whether Manifest.plist says the backup is encrypted (and a record if unreadable)."""
    try:
        with open(path / MANIFEST_PLIST, "rb") as f:
            info = plistlib.load(f)
    except FileNotFoundError:
        return False, ScanError(MANIFEST_PLIST, "source", "missing: encryption state unknown")
    except (OSError, plistlib.InvalidFileException, ValueError) as exc:
        return False, ScanError(MANIFEST_PLIST, "source", f"unreadable: {exc}")
    return bool(isinstance(info, dict) and info.get("IsEncrypted")), None


def _utc(value: object) -> datetime | None:
    if isinstance(value, int | float) and value > 0:
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return None


def mbfile(blob: bytes | None) -> dict:
    """The MBFile record of a ``Files.file`` blob (empty when absent or unreadable)."""
    if not blob:
        return {}
    try:
        archive = plistlib.loads(blob)
        objects = archive["$objects"]
        root = objects[archive["$top"]["root"].data]
    except (plistlib.InvalidFileException, LookupError, TypeError, ValueError, AttributeError):
        return {}
    return root if isinstance(root, dict) else {}


def _manifest_rows(path: Path) -> list[tuple[str, str, str, bytes | None]]:
    uri = (path / MANIFEST_DB).resolve().as_uri() + "?mode=ro&immutable=1"
    db = sqlite3.connect(uri, uri=True)
    try:
        return db.execute(
            "SELECT fileID, domain, relativePath, file FROM Files WHERE flags = ? "
            "ORDER BY domain, relativePath, fileID",
            (_FILE,),
        ).fetchall()
    finally:
        db.close()


def iter_backup(path: Path) -> Iterator[Item | ScanError]:
    """Yield the files of the backup at ``path``: manifest files, then the rest."""
    encrypted, plist_error = is_encrypted(path)
    if plist_error is not None:
        yield plist_error
    if encrypted:
        yield ScanError(
            path.name,
            "source",
            "encrypted backup: its files are scanned as stored (encrypted); decrypting it "
            "needs the backup password, which this version cannot use: decrypt the backup "
            "first and scan the decrypted copy",
        )
    try:
        rows = _manifest_rows(path)
    except sqlite3.Error as exc:
        rows = []
        yield ScanError(
            MANIFEST_DB,
            "source",
            f"manifest unreadable ({exc}): files listed by their names in the backup",
        )
    used: set[str] = set()
    for file_id, domain, relative, blob in rows:
        stored = f"{file_id[:2]}/{file_id}"
        where = f"{domain}/{relative}"
        if not os.path.isfile(path / stored):
            yield ScanError(where, "source", f"in Manifest.db as {stored}, not in the backup")
            continue
        used.add(stored)
        record = mbfile(blob)
        on_disk = item_for_file(path, stored)
        size = record.get("Size")
        yield Item(
            path=where,
            open=on_disk.open,
            size=on_disk.size if encrypted or not isinstance(size, int) else size,
            created=_utc(record.get("Birth")),
            modified=_utc(record.get("LastModified")),
            changed=_utc(record.get("LastStatusChange")),
            encrypted=encrypted,
            inode=str(record["InodeNumber"]) if "InodeNumber" in record else None,
        )
    for entry in iter_folder(path):
        if isinstance(entry, ScanError) or entry.path not in used:
            if isinstance(entry, Item) and encrypted and "/" in entry.path:
                entry = replace(entry, encrypted=True)
            yield entry
