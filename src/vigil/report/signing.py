"""Examiner keys and the signed manifest of a report folder (Ed25519).

``manifest.json`` lists the SHA-256 of every output file and the case audit chain's
head (entry count and newest hash), so truncating the audit log after the report is
visible. ``manifest.sig`` is the Ed25519 signature over the manifest's exact bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from vigil.errors import UsageError

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
KEY_FILE = "vigil-ed25519.key"
PUBLIC_FILE = "vigil-ed25519.pub"


def new_keypair(folder: Path) -> tuple[Path, Path]:
    """Write a new Ed25519 key pair (PEM); the private key file gets mode 0600.

    Args:
        folder: Where to write ``vigil-ed25519.key`` and ``vigil-ed25519.pub``.

    Returns:
        The private and public key files.

    Raises:
        UsageError: If a key file already exists there (keys are never overwritten).
    """
    folder.mkdir(parents=True, exist_ok=True)
    private_path, public_path = folder / KEY_FILE, folder / PUBLIC_FILE
    for p in (private_path, public_path):
        if p.exists():
            raise UsageError(f"{p} already exists; keys are never overwritten")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Created with 0600 from the start: the key is never readable by others, not even briefly.
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(private_pem)
    os.chmod(private_path, 0o600)
    public_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private_path, public_path


def _load_private(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise UsageError(f"{path}: not a readable unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise UsageError(f"{path}: not an Ed25519 private key")
    return key


def _load_public(data: bytes, where: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise UsageError(f"{where}: not a PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise UsageError(f"{where}: not an Ed25519 public key")
    return key


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(
    folder: Path,
    files: list[Path],
    case: str,
    audit_head: tuple[int, str],
    key_file: Path | None = None,
) -> list[Path]:
    """Write ``manifest.json`` (and, with a key, ``manifest.sig``) into ``folder``.

    Args:
        folder: The report folder.
        files: The output files to list (inside ``folder``).
        case: The case name.
        audit_head: (entry count, newest hash) of the case audit chain.
        key_file: The examiner's private key; None writes an unsigned manifest.

    Returns:
        The files written.
    """
    manifest: dict[str, Any] = {
        "manifest_version": 1,
        "case": case,
        "files": {f.name: file_sha256(f) for f in sorted(files, key=lambda p: p.name)},
        "audit": {"entries": audit_head[0], "head": audit_head[1]},
    }
    written = [folder / MANIFEST]
    if key_file is not None:
        key = _load_private(key_file)
        manifest["public_key"] = (
            key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode("ascii")
        )
    body = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8")
    (folder / MANIFEST).write_bytes(body)
    if key_file is not None:
        (folder / SIGNATURE).write_text(key.sign(body).hex() + "\n", encoding="ascii")
        written.append(folder / SIGNATURE)
    return written


@dataclass
class ManifestCheck:
    """What ``verify_folder`` found; ``ok`` only when there are no problems."""

    signed: bool = False
    key_source: str = ""
    audit: dict[str, Any] = field(default_factory=dict)
    files: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the signature and every file hash check out."""
        return not self.problems


def verify_folder(folder: Path, public_key: Path | None = None) -> ManifestCheck:
    """Check a report folder's manifest signature and every listed file's SHA-256.

    Args:
        folder: The report folder.
        public_key: The examiner's public key file; without it the key recorded in the
            manifest is used, which proves integrity but not who signed.

    Returns:
        The findings; a missing signature, a bad signature, a changed, missing or
        unlisted file is a problem.
    """
    check = ManifestCheck()
    manifest_path = folder / MANIFEST
    try:
        body = manifest_path.read_bytes()
        manifest = json.loads(body)
        listed: dict[str, str] = dict(manifest["files"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        check.problems.append(f"{manifest_path}: unreadable manifest: {exc}")
        return check
    check.audit = dict(manifest.get("audit") or {})
    check.files = len(listed)
    _check_signature(folder, body, manifest, public_key, check)
    for name, expected in sorted(listed.items()):
        path = folder / name
        if Path(name).name != name:
            check.problems.append(f"{name}: not a plain file name")
        elif not path.is_file():
            check.problems.append(f"{name}: missing")
        elif file_sha256(path) != expected:
            check.problems.append(f"{name}: SHA-256 differs from the manifest (changed)")
    extra = sorted(
        p.name
        for p in folder.iterdir()
        if p.is_file() and p.name not in listed and p.name not in (MANIFEST, SIGNATURE)
    )
    check.problems.extend(f"{name}: not listed in the manifest" for name in extra)
    return check


def _check_signature(
    folder: Path,
    body: bytes,
    manifest: dict[str, Any],
    public_key: Path | None,
    check: ManifestCheck,
) -> None:
    sig_path = folder / SIGNATURE
    if not sig_path.is_file():
        check.problems.append(f"{SIGNATURE}: missing (the manifest is not signed)")
        return
    try:
        if public_key is not None:
            key = _load_public(public_key.read_bytes(), str(public_key))
            check.key_source = str(public_key)
        else:
            key = _load_public(str(manifest["public_key"]).encode("ascii"), MANIFEST)
            check.key_source = "key recorded in the manifest (integrity only, not identity)"
        signature = bytes.fromhex(sig_path.read_text(encoding="ascii").strip())
        key.verify(signature, body)
    except (InvalidSignature, ValueError, KeyError, OSError, UsageError) as exc:
        reason = "does not match the manifest" if isinstance(exc, InvalidSignature) else exc
        check.problems.append(f"{SIGNATURE}: signature invalid: {reason}")
        return
    check.signed = True
