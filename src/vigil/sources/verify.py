"""Check an EWF image's stored MD5/SHA-1 against the media it holds.

``verify_ewf`` is ``vigil verify``. ``check_media`` is the integrity pass of a scan:
one read of the whole media that also collects the chunks whose checksum failed
(through the C library: pyewf does not expose them), so ``image.iter_image`` can
flag the items whose bytes lie in a bad chunk and the report header can state the
acquisition-hash result.
"""

from __future__ import annotations

import ctypes
import hashlib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pyewf

from vigil.errors import EvidenceError
from vigil.model import ScanError
from vigil.sources.libewf import EwfReader, LibewfError

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


HashStatus = Literal["verified", "mismatch", "not stored", "incomplete"]


@dataclass(frozen=True)
class MediaCheck:
    """One full read of an EWF image's media: chunk checksums and the acquisition hash.

    ``bad_ranges`` are media byte ranges ``(offset, size)`` whose chunk failed its
    Adler-32, or that libewf cannot find (segments missing or cut short): libewf, like
    pyewf, hands them back as zeros, so the items over them read wrong bytes.
    ``computed_*`` are None when the read stopped early (``read_error`` says why).
    """

    media_size: int
    bytes_read: int
    chunk_size: int
    bad_ranges: tuple[tuple[int, int], ...]
    stored_md5: str | None
    stored_sha1: str | None
    computed_md5: str | None
    computed_sha1: str | None
    read_error: str | None = None

    @property
    def hash_status(self) -> HashStatus:
        """``verified`` (every stored hash equals the media's), ``mismatch``, ``not stored``
        (the image holds no acquisition hash) or ``incomplete`` (the media was not read to
        its end)."""
        if self.computed_md5 is None:
            return "incomplete"
        pairs = [(self.stored_md5, self.computed_md5), (self.stored_sha1, self.computed_sha1)]
        present = [(s, c) for s, c in pairs if s]
        if not present:
            return "not stored"
        return "verified" if all(s == c for s, c in present) else "mismatch"

    @property
    def ok(self) -> bool:
        """True when the acquisition hash is verified and no chunk failed its checksum."""
        return self.hash_status == "verified" and not self.bad_ranges

    def summary(self) -> str:
        """One line for a report header, e.g. ``acquisition MD5 verified; 0 bad chunks``."""
        status = self.hash_status
        if status == "verified":
            text = "acquisition hash verified"
        elif status == "mismatch":
            text = (f"acquisition hash MISMATCH (stored MD5 {self.stored_md5}, media"
                    f" {self.computed_md5})")
        elif status == "not stored":
            zeros = ", bad chunks read as zeros" if self.bad_ranges else ""
            text = f"no acquisition hash stored (media MD5 {self.computed_md5}{zeros})"
        else:
            text = f"media read stopped at byte {self.bytes_read} of {self.media_size}"
            text += f": {self.read_error}" if self.read_error else ""
        bad = len(self.bad_ranges)
        return f"{text}; {bad} chunk{'s' if bad != 1 else ''} failed the checksum"

    def records(self, location: str) -> list[ScanError]:
        """Image-level records: the hash result unless verified, and each bad chunk."""
        found = [] if self.hash_status == "verified" else [
            ScanError(location, "integrity", self.summary())
        ]
        for offset, size in self.bad_ranges:
            found.append(ScanError(location, "integrity", bad_chunk_reason(offset, size)))
        return found


def bad_chunk_reason(offset: int, size: int) -> str:
    """The reason recorded for bytes that lie in a chunk whose checksum failed."""
    return (f"media bytes {offset}-{offset + size - 1} failed the E01 chunk checksum or are"
            " missing (read as zeros: not the acquired bytes)")


def check_media(path: Path) -> MediaCheck:
    """Read an EWF image's whole media once: hash it, collect chunk checksum failures.

    Args:
        path: The first segment (``.E01``); the other segments are found beside it.

    Returns:
        The ``MediaCheck``; a read that stops early is in it, not raised.

    Raises:
        EvidenceError: If the image cannot be opened at all.
    """
    try:
        reader = EwfReader(path)
    except LibewfError as exc:
        raise EvidenceError(f"cannot open EWF image {path}: {exc}") from exc
    with reader, ThreadPoolExecutor(2) as pool:
        size, chunk = reader.media_size, reader.chunk_size
        md5, sha1 = hashlib.md5(), hashlib.sha1()
        done, error = 0, None
        # Two buffers: libewf fills one while MD5 and SHA-1 digest the other, each on
        # its own thread (hashlib and ctypes both let go of the GIL).
        buffers = [ctypes.create_string_buffer(_CHUNK) for _ in range(2)]
        pending: list[Future] = []
        turn = 0
        while done < size:
            try:
                n = reader.read_into(buffers[turn])
            except LibewfError as exc:
                error = str(exc)
                break
            for future in pending:
                future.result()
            if n <= 0:
                error = "media ends early"
                break
            n = min(n, size - done)
            view = memoryview(buffers[turn])[:n]
            pending = [pool.submit(md5.update, view), pool.submit(sha1.update, view)]
            done += n
            turn ^= 1
        for future in pending:
            future.result()
        complete = done == size
        return MediaCheck(
            media_size=size,
            bytes_read=done,
            chunk_size=chunk,
            bad_ranges=tuple(reader.checksum_errors()),
            stored_md5=reader.stored_hash("MD5"),
            stored_sha1=reader.stored_hash("SHA1"),
            computed_md5=md5.hexdigest() if complete else None,
            computed_sha1=sha1.hexdigest() if complete else None,
            read_error=error,
        )


def is_ewf(path: Path) -> bool:
    """Whether ``path`` is an EWF segment (E01/Ex01/L01 signature)."""
    try:
        return bool(pyewf.check_file_signature(str(path)))
    except OSError:
        return False
