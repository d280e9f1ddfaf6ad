"""Find case stores and keep one open engine per case for the app's lifetime."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import select

from vigil.errors import UsageError
from vigil.store.api import CaseStore, check_case_name, default_store_url
from vigil.store.schema import cases


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
            if case not in self.names():
                raise UsageError(f"no case {case!r}")
            with self._lock:
                store = self._stores.get(case)
                if store is None:
                    store = CaseStore(default_store_url(self.home, case))
                    self._stores[case] = store
        return store, store.case_id(case)

    def close(self) -> None:
        """Dispose of every open engine."""
        with self._lock:
            for store in self._stores.values():
                store.close()
            self._stores.clear()
