"""How vigil configures SQLite engines (case stores and the lab database)."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


def _pragmas(busy_ms: int, dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
    cursor.close()
    # Let SQLAlchemy's "begin" event emit BEGIN itself (see _begin_immediate).
    dbapi_connection.isolation_level = None


def _begin_immediate(conn: Any) -> None:
    # Take the write lock when a transaction starts: two processes writing one file
    # then queue on busy_timeout instead of failing to upgrade a read lock.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _create_private(database: str | None) -> None:
    # A new database file is created 0600 (a missing folder 0700); SQLite gives its -wal
    # and -shm files the database file's mode. An existing folder's mode is left alone.
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def configure_sqlite(
    engine: Engine, busy_timeout: float = 30.0, lock_on_begin: bool = True
) -> None:
    """WAL, foreign keys, a busy timeout (seconds) and write-locking transactions.

    A new database file is created readable by its owner only. With ``lock_on_begin``
    false the caller chooses how transactions begin (the lab database reads unlocked).
    """
    if engine.dialect.name == "sqlite":
        _create_private(engine.url.database)
        event.listen(engine, "connect", partial(_pragmas, int(busy_timeout * 1000)))
        if lock_on_begin:
            event.listen(engine, "begin", _begin_immediate)
