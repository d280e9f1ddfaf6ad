"""One writer per exhibit: a lock the operating system or the server releases on a crash.

* SQLite store: a POSIX record lock (``fcntl``) on a small file beside the store,
  ``<store>.writer-<key>.lock``, holding the holder's pid, host and start time for
  the message a second writer gets. The kernel drops the lock when the holding process
  ends, however it ends (kill -9 included), so a resume can always take it over.
* PostgreSQL store: a session advisory lock held on a connection of its own; the
  server drops it when that session ends (the process died or the connection broke).

The key is derived from (store, case, exhibit), so two exhibits never block each other.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from vigil.errors import StoreError
from vigil.store.clock import now_text

# First key of pg_try_advisory_lock(int, int): vigil's exhibit writer locks ("vigw").
_PG_NAMESPACE = 0x76696777


def _key(case: str, exhibit: str) -> bytes:
    return hashlib.sha256(f"{case}\0{exhibit}".encode("utf-8", "surrogateescape")).digest()


def _busy(case: str, exhibit: str, holder: str) -> StoreError:
    return StoreError(
        f"exhibit {exhibit!r} of case {case!r} is being written by another vigil process "
        f"({holder}); only one scan of an exhibit may run at a time. Wait for it to end; "
        "if it was killed, run the command again (its lock is released with the process)"
    )


class ExhibitLock:
    """The exclusive right to write one exhibit's scan results."""

    def __init__(self, engine: Engine, case: str, exhibit: str) -> None:
        """Take the lock now.

        Raises:
            StoreError: Another live process holds it (the message names the holder).
        """
        self.case, self.exhibit = case, exhibit
        self._fd: int | None = None
        self._conn: Connection | None = None
        self._pg_key = 0
        key = _key(case, exhibit)
        if engine.dialect.name == "postgresql":
            self._lock_postgres(engine, int.from_bytes(key[:4], "big", signed=True))
        else:
            database = engine.url.database
            if database and database != ":memory:":
                self._lock_file(Path(f"{database}.writer-{key[:8].hex()}.lock"))

    def _lock_file(self, path: Path) -> None:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StoreError(
                f"cannot create the writer lock {path} beside the case store: "
                f"{exc.strerror or exc}"
            ) from exc
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 4096, 0).decode("utf-8", "replace")
            os.close(fd)
            raise _busy(self.case, self.exhibit, _holder_text(holder)) from None
        info = {"pid": os.getpid(), "host": socket.gethostname(), "since": now_text()}
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info).encode(), 0)
        except OSError:
            pass  # who holds it is only for the message a second writer gets
        self._fd = fd

    def _lock_postgres(self, engine: Engine, key: int) -> None:
        conn = engine.connect()
        got = conn.execute(
            text("SELECT pg_try_advisory_lock(:ns, :key)"), {"ns": _PG_NAMESPACE, "key": key}
        ).scalar_one()
        conn.commit()
        if not got:
            row = conn.execute(
                text(
                    "SELECT a.pid, a.client_addr, a.backend_start FROM pg_locks l "
                    "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
                    "AND l.classid = CAST(:ns AS oid) AND l.objid = CAST(:key AS oid) AND l.granted"
                ),
                {"ns": _PG_NAMESPACE, "key": key & 0xFFFFFFFF},
            ).first()
            conn.close()
            holder = (
                f"server session {row.pid} from {row.client_addr or 'a local socket'}, "
                f"connected {row.backend_start:%Y-%m-%dT%H:%M:%SZ}"
                if row
                else "another server session"
            )
            raise _busy(self.case, self.exhibit, holder)
        self._conn, self._pg_key = conn, key

    def release(self) -> None:
        """Give the lock up (idempotent)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            os.close(fd)  # closing drops the record lock
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                conn.execute(
                    text("SELECT pg_advisory_unlock(:ns, :key)"),
                    {"ns": _PG_NAMESPACE, "key": self._pg_key},
                )
                conn.commit()
            finally:
                # A pooled connection outlives close(): the unlock above is what counts.
                conn.close()


def _holder_text(raw: str) -> str:
    try:
        info: dict[str, Any] = json.loads(raw)
        return f"pid {info['pid']} on {info['host']}, since {info['since']}"
    except (ValueError, KeyError, TypeError):
        return "holder unknown"
