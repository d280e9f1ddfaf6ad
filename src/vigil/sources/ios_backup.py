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
its path in the backup folder.

An encrypted backup (``IsEncrypted``) is decrypted with the backup password read from
``password_file`` (``vigil scan --password-file``; see ``ios_crypto``): Manifest.db is
decrypted in memory and each file as it is read, so its items are the plain files under
their domain paths. Without a password, or with a wrong one, a record says so and every
file is an item by its name in the backup, marked encrypted.
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
from vigil.sources.ios_crypto import (
    BackupKeyError,
    Keybag,
    decrypt_whole,
    manifest_key,
    open_decrypted,
    unwrap_file_key,
)

MANIFEST_DB = "Manifest.db"
MANIFEST_PLIST = "Manifest.plist"
_FILE = 1


def is_backup(path: Path) -> bool:
    """True when the folder at ``path`` is an iOS backup."""
    return (path / MANIFEST_DB).is_file() or (path / MANIFEST_PLIST).is_file()


def read_manifest_plist(path: Path) -> tuple[dict, ScanError | None]:
    """Manifest.plist of the backup at ``path`` (empty, and a record, if unreadable)."""
    try:
        with open(path / MANIFEST_PLIST, "rb") as f:
            info = plistlib.load(f)
    except FileNotFoundError:
        return {}, ScanError(MANIFEST_PLIST, "source", "missing: encryption state unknown")
    except (OSError, plistlib.InvalidFileException, ValueError) as exc:
        return {}, ScanError(MANIFEST_PLIST, "source", f"unreadable: {exc}")
    return (info if isinstance(info, dict) else {}), None


def is_encrypted(path: Path) -> tuple[bool, ScanError | None]:
    """Whether Manifest.plist says the backup is encrypted (and a record if unreadable)."""
    info, error = read_manifest_plist(path)
    return bool(info.get("IsEncrypted")), error


def backup_info(path: Path) -> dict[str, str | None]:
    """What the backup's Manifest.plist and Info.plist say made it, and of which device."""
    info, _error = read_manifest_plist(path)
    try:
        with open(path / "Info.plist", "rb") as f:
            device = plistlib.load(f)
    except (OSError, plistlib.InvalidFileException, ValueError):
        device = {}
    device = device if isinstance(device, dict) else {}
    lockdown = info.get("Lockdown") if isinstance(info.get("Lockdown"), dict) else {}
    name = device.get("Device Name") or lockdown.get("DeviceName")
    product = device.get("Product Type") or lockdown.get("ProductType")
    ios = device.get("Product Version") or lockdown.get("ProductVersion")
    about = ", ".join(str(v) for v in (product, f"iOS {ios}" if ios else None) if v)
    described = f"{name} ({about})" if name and about else (name or about or None)
    itunes = device.get("iTunes Version")
    return {
        "extraction_type": "iOS backup" + (" (encrypted)" if info.get("IsEncrypted") else ""),
        "extraction_tool": "iTunes/Finder backup",
        "extraction_version": (
            f"iTunes {itunes}" if itunes else
            f"backup format {info['Version']}" if info.get("Version") else None
        ),
        "device": str(described) if described else None,
    }


def read_password(password_file: str) -> bytes:
    """The password in ``password_file``: its bytes without the line end after them."""
    data = Path(password_file).read_bytes()
    return data[:-2] if data.endswith(b"\r\n") else data.rstrip(b"\n")


def class_keys(info: dict, password_file: str) -> dict[int, bytes]:
    """The class keys of the backup whose Manifest.plist is ``info``.

    Raises:
        BackupKeyError: wrong password, damaged keybag or unreadable password file.
    """
    blob = info.get("BackupKeyBag")
    if not isinstance(blob, bytes):
        raise BackupKeyError("Manifest.plist has no BackupKeyBag")
    try:
        password = read_password(password_file)
    except OSError as exc:
        raise BackupKeyError(f"password file unreadable: {exc.strerror or exc}") from None
    return Keybag.parse(blob).class_keys(password)


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


def _manifest_rows(
    path: Path, plain: bytes | None = None
) -> list[tuple[str, str, str, bytes | None]]:
    """The file rows of Manifest.db (``plain``: its decrypted bytes, read in memory)."""
    if plain is None:
        uri = (path / MANIFEST_DB).resolve().as_uri() + "?mode=ro&immutable=1"
        db = sqlite3.connect(uri, uri=True)
    else:
        db = sqlite3.connect(":memory:")
        db.deserialize(plain)
    try:
        return db.execute(
            "SELECT fileID, domain, relativePath, file FROM Files WHERE flags = ? "
            "ORDER BY domain, relativePath, fileID",
            (_FILE,),
        ).fetchall()
    finally:
        db.close()


def _unlock(path: Path, info: dict, password_file: str | None) -> dict[int, bytes] | ScanError:
    """The class keys of an encrypted backup, or the record of why there are none."""
    if password_file is None:
        return ScanError(
            path.name,
            "source",
            "encrypted backup: its files are scanned as stored (encrypted) by their names "
            "in the backup; give the backup password with --password-file to decrypt it",
        )
    try:
        return class_keys(info, password_file)
    except BackupKeyError as exc:
        return ScanError(
            path.name,
            "source",
            f"encrypted backup not decrypted: {exc}; its files are scanned as stored "
            "(encrypted) by their names in the backup",
        )


def _decrypted_manifest(path: Path, info: dict, keys: dict[int, bytes]) -> bytes:
    """The plain bytes of Manifest.db (raises OSError, BackupKeyError)."""
    blob = info.get("ManifestKey")
    if not isinstance(blob, bytes):
        raise BackupKeyError("Manifest.plist has no ManifestKey")
    return decrypt_whole((path / MANIFEST_DB).read_bytes(), manifest_key(keys, blob))


def _file_key(record: dict, blob: bytes | None, keys: dict[int, bytes]) -> bytes:
    """The AES key of one file from its MBFile record (raises BackupKeyError)."""
    ref = record.get("EncryptionKey")
    try:
        objects = plistlib.loads(blob or b"")["$objects"]
        wrapped = objects[ref.data]["NS.data"] if isinstance(ref, plistlib.UID) else ref
    except (plistlib.InvalidFileException, LookupError, TypeError, ValueError):
        wrapped = None
    if not isinstance(wrapped, bytes) or len(wrapped) < 8:
        raise BackupKeyError("its record has no EncryptionKey")
    protection = record.get("ProtectionClass")
    if not isinstance(protection, int):
        protection = int.from_bytes(wrapped[:4], "little")
    return unwrap_file_key(keys, protection, wrapped[4:])


def iter_backup(path: Path, password_file: str | None = None) -> Iterator[Item | ScanError]:
    """Yield the files of the backup at ``path``: manifest files, then the rest.

    ``password_file`` holds the password of an encrypted backup (see the module docstring).
    """
    info, plist_error = read_manifest_plist(path)
    if plist_error is not None:
        yield plist_error
    encrypted = bool(info.get("IsEncrypted"))
    keys: dict[int, bytes] | None = None
    plain: bytes | None = None
    if encrypted:
        unlocked = _unlock(path, info, password_file)
        if isinstance(unlocked, ScanError):
            yield unlocked
        else:
            try:
                plain = _decrypted_manifest(path, info, unlocked)
                keys = unlocked
            except (OSError, BackupKeyError) as exc:
                yield ScanError(MANIFEST_DB, "source", f"not decrypted: {exc}")
    try:
        rows = _manifest_rows(path, plain)
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
        record = mbfile(blob)
        on_disk = item_for_file(path, stored)
        size = record.get("Size") if isinstance(record.get("Size"), int) else None
        opener = on_disk.open
        if keys is not None:
            try:
                opener = _decrypting_opener(path / stored, _file_key(record, blob, keys), size)
            except BackupKeyError as exc:
                # Left to the folder listing below: scanned as stored, by its backup name.
                yield ScanError(where, "source", f"not decrypted ({stored}): {exc}")
                continue
        used.add(stored)
        yield Item(
            path=where,
            open=opener,
            size=on_disk.size if size is None or (encrypted and keys is None) else size,
            created=_utc(record.get("Birth")),
            modified=_utc(record.get("LastModified")),
            changed=_utc(record.get("LastStatusChange")),
            encrypted=encrypted and keys is None,
            inode=str(record["InodeNumber"]) if "InodeNumber" in record else None,
        )
    for entry in iter_folder(path):
        if isinstance(entry, ScanError) or entry.path not in used:
            if isinstance(entry, Item) and encrypted and (
                "/" in entry.path or entry.path == MANIFEST_DB
            ):
                entry = replace(entry, encrypted=True)
            yield entry


def _decrypting_opener(stored: Path, key: bytes, size: int | None):  # noqa: ANN202
    return lambda: open_decrypted(stored, key, size)
