"""Check an EWF image's stored MD5/SHA-1 against the media it holds (``vigil verify``)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pyewf

from vigil.errors import EvidenceError

_CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True)
class VerifyResult:
    """Stored and recomputed hashes of an EWF image; ``ok`` when every stored one matches."""

    stored_md5: str | None
    stored_sha1: str | None
    computed_md5: str
    computed_sha1: str
    ok: bool


def verify_ewf(path: Path) -> VerifyResult:
    """Read an E01 (or split set) read-only and compare its stored hashes with its media.

    Args:
        path: The first segment (``.E01``); the other segments are found beside it.

    Returns:
        The stored and computed hashes; ``ok`` is True only if at least one hash is
        stored and every stored hash equals the computed one.

    Raises:
        EvidenceError: If the image cannot be opened or read to its end.
    """
    try:
        segments = pyewf.glob(str(path))
        handle = pyewf.handle()
        handle.open(segments, "r")
    except OSError as exc:
        raise EvidenceError(f"cannot open EWF image {path}: {exc}") from exc
    try:
        md5, sha1 = hashlib.md5(), hashlib.sha1()
        remaining = handle.get_media_size()
        while remaining > 0:
            data = handle.read(min(_CHUNK, remaining))
            if not data:
                raise EvidenceError(f"{path}: media ends {remaining} bytes early")
            md5.update(data)
            sha1.update(data)
            remaining -= len(data)
        stored_md5 = _stored(handle, "MD5")
        stored_sha1 = _stored(handle, "SHA1")
    except OSError as exc:
        raise EvidenceError(f"cannot read EWF image {path}: {exc}") from exc
    finally:
        handle.close()
    computed_md5, computed_sha1 = md5.hexdigest(), sha1.hexdigest()
    stored = [(stored_md5, computed_md5), (stored_sha1, computed_sha1)]
    present = [(s, c) for s, c in stored if s]
    ok = bool(present) and all(s == c for s, c in present)
    return VerifyResult(stored_md5, stored_sha1, computed_md5, computed_sha1, ok)


def _stored(handle: pyewf.handle, name: str) -> str | None:
    try:
        value = handle.get_hash_value(name)
    except (OSError, KeyError):
        return None
    return value.strip().lower() if value else None
