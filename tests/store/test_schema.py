"""The Alembic migrations create exactly the tables in ``store/schema.py``."""

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from vigil.store.api import open_engine
from vigil.store.schema import metadata


def test_migrations_match_the_schema(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'case.sqlite'}")
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diff == []


def test_opening_twice_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'case.sqlite'}"
    open_engine(url).dispose()
    engine = open_engine(url)
    with engine.connect() as conn:
        rev = conn.exec_driver_sql("select version_num from alembic_version").scalar_one()
    engine.dispose()
    assert rev == "0006"
