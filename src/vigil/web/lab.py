"""Open the lab database and bring its schema to the newest Alembic revision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from vigil.errors import StoreError

MIGRATIONS = Path(__file__).with_name("migrations")


def default_lab_url(home: Path) -> str:
    """The SQLite URL of the lab database under the vigil home folder.

    Args:
        home: The vigil home folder.

    Returns:
        ``sqlite:///<home>/lab.sqlite``.
    """
    return f"sqlite:///{Path(home) / 'lab.sqlite'}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def open_lab(url: str) -> Engine:
    """Create an engine for the lab database at ``url`` and migrate it.

    Args:
        url: SQLAlchemy URL of the lab database.

    Returns:
        The engine.

    Raises:
        StoreError: If the database cannot be opened or migrated.
    """
    try:
        engine = create_engine(url, future=True)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot open lab database {url}: {exc}") from exc
    return engine
