"""How vigil configures SQLite engines (case stores and the lab database)."""

from __future__ import annotations

from functools import partial
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


def configure_sqlite(engine: Engine, busy_timeout: float = 30.0) -> None:
    """WAL, foreign keys, a busy timeout (seconds) and write-locking transactions."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", partial(_pragmas, int(busy_timeout * 1000)))
        event.listen(engine, "begin", _begin_immediate)
