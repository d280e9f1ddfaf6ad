"""Open the lab database and bring its schema to the newest Alembic revision.

Reads never take the write lock: a session lookup is a plain (deferred) SQLite read,
which WAL lets run beside a writer. Only ``writing()`` blocks take the lock, at once
(``BEGIN IMMEDIATE``), so a writer queues on the busy timeout instead of failing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from vigil.errors import StoreError
from vigil.store.sqlite import configure_sqlite

MIGRATIONS = Path(__file__).with_name("migrations")
_WRITE = "vigil_lab_write"


def default_lab_url(home: Path) -> str:
    """The SQLite URL of the lab database under the vigil home folder.

    Args:
        home: The vigil home folder.

    Returns:
        ``sqlite:///<home>/lab.sqlite``.
    """
    return f"sqlite:///{Path(home) / 'lab.sqlite'}"


def _begin(conn: Any) -> None:
    # Deferred BEGIN for reads; the write lock only for writing() blocks.
    immediate = conn.get_execution_options().get(_WRITE)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A transaction that holds the lab database's write lock from its first statement.

    Args:
        engine: The lab database.

    Yields:
        The connection, committed on leaving the block (rolled back on error).
    """
    with engine.connect() as conn:
        conn.execution_options(**{_WRITE: True})
        with conn.begin():
            yield conn


def open_lab(url: str) -> Engine:
    """Create an engine for the lab database at ``url`` and migrate it.

    A new SQLite lab file is created readable by its owner only (0600).

    Args:
        url: SQLAlchemy URL of the lab database.

    Returns:
        The engine.

    Raises:
        StoreError: If the database cannot be opened or migrated.
    """
    try:
        engine = create_engine(url, future=True)
        configure_sqlite(engine, lock_on_begin=False)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "begin", _begin)
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with writing(engine) as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot open lab database {url}: {exc}") from exc
    return engine
