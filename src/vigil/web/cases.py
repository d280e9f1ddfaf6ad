"""Find case stores and keep one open engine per case for the app's lifetime.

Each case is opened once: its store's engine for writes (grades, audit entries), and for
SQLite a second engine for reads that never takes the write lock (SQLite in WAL mode
lets those run beside a writer), so tiles and pages never queue behind one another.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.engine import Engine

from vigil.errors import UsageError
from vigil.store.api import CaseStore, check_case_name, default_store_url
from vigil.store.schema import cases
from vigil.store.sqlite import configure_sqlite


@dataclass(frozen=True)
class OpenCase:
    """A case as the app uses it: where to write, where to read, its id."""

    engine: Engine
    reader: Engine
    case_id: int


def _reader(store: CaseStore) -> Engine:
    if store.engine.dialect.name != "sqlite":
        return store.engine
    engine = create_engine(store.engine.url, future=True)
    configure_sqlite(engine, lock_on_begin=False)
    return engine


class CaseRegistry:
    """The case stores the app serves: one URL for every case, or one SQLite per case.

    Args:
        home: The vigil home folder (``cases/<CASE>.sqlite`` live under it).
        db_url: A store URL holding every case (e.g. PostgreSQL), or None.
    """

    def __init__(self, home: Path, db_url: str | None = None) -> None:
        self.home = Path(home)
        self.db_url = db_url
        self._stores: dict[str, CaseStore] = {}
        self._readers: dict[str, Engine] = {}
        self._open: dict[str, OpenCase] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        """Every case name the registry can serve.

        Returns:
            Sorted case names.
        """
        if self.db_url:
            with self._shared().engine.connect() as conn:
                return sorted(r.name for r in conn.execute(select(cases.c.name)))
        folder = self.home / "cases"
        return sorted(p.stem for p in folder.glob("*.sqlite")) if folder.is_dir() else []

    def _shared(self) -> CaseStore:
        with self._lock:
            if "" not in self._stores:
                self._stores[""] = CaseStore(self.db_url or "")
            return self._stores[""]

    def store(self, case: str) -> tuple[CaseStore, int]:
        """The store holding ``case`` and the case's id in it.

        Args:
            case: Case name.

        Returns:
            ``(store, case_id)``.

        Raises:
            UsageError: If there is no such case.
        """
        check_case_name(case)
        if self.db_url:
            store = self._shared()
        else:
            if not (self.home / "cases" / f"{case}.sqlite").is_file():
                raise UsageError(f"no case {case!r}")
            with self._lock:
                store = self._stores.get(case)
                if store is None:
                    store = CaseStore(default_store_url(self.home, case))
                    self._stores[case] = store
        return store, store.case_id(case)

    def open(self, case: str) -> OpenCase:
        """The case's write and read engines and its id, opened once and kept.

        Args:
            case: Case name.

        Returns:
            The open case.

        Raises:
            UsageError: If there is no such case.
        """
        with self._lock:
            found = self._open.get(case)
        if found is not None:
            return found
        store, case_id = self.store(case)
        key = "" if self.db_url else case
        with self._lock:
            reader = self._readers.get(key)
            if reader is None:
                reader = self._readers[key] = _reader(store)
            found = self._open.setdefault(case, OpenCase(store.engine, reader, case_id))
        return found

    def close(self) -> None:
        """Dispose of every open engine."""
        with self._lock:
            for reader in self._readers.values():
                reader.dispose()
            for store in self._stores.values():
                store.close()
            self._stores.clear()
            self._readers.clear()
            self._open.clear()
