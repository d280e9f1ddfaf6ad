"""Exact lookup of a content's MD5 / SHA-1 / SHA-256 in the hash-set library."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable

from vigil.errors import StoreError
from vigil.hashsets.library import HashSetInfo, HashSetLibrary
from vigil.model import Match

# Strongest algorithm first: an entry found by several algorithms is reported once,
# under the first one listed here.
_LOOKUP = """
SELECT id, hashset_id, grade, 'sha256' FROM entry WHERE sha256 = ?1
UNION ALL SELECT id, hashset_id, grade, 'sha1' FROM entry WHERE sha1 = ?2
UNION ALL SELECT id, hashset_id, grade, 'md5' FROM entry WHERE md5 = ?3
"""
_MMAP_BYTES = 1 << 30
_CACHE_KIB = 64 * 1024
_DIGEST_BYTES = {"md5": 16, "sha1": 20, "sha256": 32}
_ORDER = ("sha256", "sha1", "md5")
_RANK = {algorithm: rank for rank, algorithm in enumerate(_ORDER)}


def _digest(value: str | None, algorithm: str) -> bytes | None:
    if not value:
        return None
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        return None
    return raw if len(raw) == _DIGEST_BYTES[algorithm] else None


class ExactMatcher:
    """Looks hashes up in a fixed selection of sets; safe to share between threads.

    Each thread gets its own read-only connection to the library file. The selection
    is fixed when the matcher is built: sets imported later are not consulted.
    """

    def __init__(self, library: HashSetLibrary, names: Iterable[str] | None = None) -> None:
        """Select the sets to match against.

        Args:
            library: The hash-set library.
            names: Set names to use; None for every set in the library.

        Raises:
            UsageError: If a named set does not exist.
        """
        self._path = library.path
        self.sets: dict[int, HashSetInfo] = {info.id: info for info in library.select(names)}
        # Exact-hash block sets (VICS): sorted hash arrays, mapped, searched in-process.
        self._blocks = library.exact_blocks(self.sets.values())
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            uri = self._path.resolve().as_uri() + "?mode=ro"
            try:
                connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
            except sqlite3.Error as exc:
                raise StoreError(f"{self._path}: cannot open the hash-set library: {exc}") from exc
            # Memory-mapped reads and a larger page cache keep index lookups off the
            # read() syscall path; the library file is only read here.
            connection.execute("PRAGMA query_only = 1")
            connection.execute(f"PRAGMA mmap_size = {_MMAP_BYTES}")
            connection.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def match(self, md5: str | None, sha1: str | None, sha256: str | None) -> list[Match]:
        """Return one Match per (set, entry) whose hash equals one of the given ones.

        Args:
            md5: Lower- or upper-case hex MD5 of the content.
            sha1: Hex SHA-1.
            sha256: Hex SHA-256.

        Returns:
            Matches with basis ``exact``, the strongest algorithm that hit, the entry's
            grade and the set's known-good flag; empty when nothing matches.
        """
        if not self.sets:
            return []
        keys = (_digest(sha256, "sha256"), _digest(sha1, "sha1"), _digest(md5, "md5"))
        # (strength, entry id, set id, grade, algorithm): rows and blocks in one order, the
        # strongest algorithm first, then by entry id (the rows' index order).
        found = [
            (_RANK[algorithm], entry_id, set_id, grade, algorithm)
            for entry_id, set_id, grade, algorithm in self._connection()
            .execute(_LOOKUP, keys)
            .fetchall()
        ]
        for set_id, block in self._blocks.items():
            for algorithm, digest in zip(_ORDER, keys, strict=True):
                if digest is None:
                    continue
                for row in block.lookup(algorithm, digest):
                    found.append((_RANK[algorithm], block.first_id + row, set_id,
                                  block.grade_of(row), algorithm))
        if self._blocks:
            found.sort(key=lambda hit: hit[:2])
        matches: list[Match] = []
        seen: set[int] = set()
        for _rank, entry_id, set_id, grade, algorithm in found:
            info = self.sets.get(set_id)
            if info is None or entry_id in seen:
                continue
            seen.add(entry_id)
            matches.append(
                Match(
                    hashset=info.name,
                    entry_id=entry_id,
                    grade=grade,
                    basis="exact",
                    algorithm=algorithm,
                    known_good=info.known_good,
                )
            )
        return matches

    def close(self) -> None:
        """Close every connection this matcher opened, in any thread."""
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()
