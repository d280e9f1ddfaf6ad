"""Open the lab database and bring its schema to the newest Alembic revision."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from vigil.errors import StoreError
from vigil.store.sqlite import configure_sqlite

MIGRATIONS = Path(__file__).with_name("migrations")


def default_lab_url(home: Path) -> str:
    """The SQLite URL of the lab database under the vigil home folder.

    Args:
        home: The vigil home folder.

    Returns:
        ``sqlite:///<home>/lab.sqlite``.
    """
    return f"sqlite:///{Path(home) / 'lab.sqlite'}"


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
        configure_sqlite(engine)
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot open lab database {url}: {exc}") from exc
    return engine
