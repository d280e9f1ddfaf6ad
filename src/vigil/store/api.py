"""The case-store API: open a store, register cases and exhibits, write scan results.

A store holds many cases. By default each case lives in its own SQLite file under
``$VIGIL_HOME/cases/``; a lab passes ``--db postgresql://...`` to keep every case in
one shared server. Only the scan loop writes, through one ``CaseStore`` at a time
per process, in batches that each commit atomically: a batch is either wholly in
the store or not at all, which is what makes resume exact.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Table, create_engine, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from vigil import __version__
from vigil.errors import StoreError, UsageError
from vigil.model import Hashes, Item, Match, ScanError
from vigil.store import audit, migrate
from vigil.store.clock import now_text, utc_text
from vigil.store.schema import (
    cases,
    contents,
    errors,
    exhibits,
    frames,
    items,
    matches,
    scan_hashsets,
    scans,
    thumbnails,
)
from vigil.store.sqlite import configure_sqlite

_CASE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


def actor() -> str:
    """Who is acting, for the audit log: ``$VIGIL_EXAMINER`` or the login name."""
    return os.environ.get("VIGIL_EXAMINER") or getpass.getuser()


def check_case_name(name: str) -> str:
    """Validate a case name (it becomes a file name); returns it unchanged."""
    if not _CASE_NAME.match(name):
        raise UsageError(
            f"case name {name!r} is not allowed: use letters, digits, '.', '_' and '-', "
            "starting with a letter or digit"
        )
    return name


def default_store_url(home: Path, case: str) -> str:
    """The SQLite URL of ``case`` under the vigil home folder."""
    folder = Path(home) / "cases"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return f"sqlite:///{folder / (check_case_name(case) + '.sqlite')}"


def normalise_url(url: str) -> str:
    """Use the psycopg 3 driver for ``postgresql://`` URLs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def open_engine(url: str) -> Engine:
    """Create an engine for ``url`` and migrate the schema to the newest revision."""
    try:
        engine = create_engine(normalise_url(url), future=True)
        configure_sqlite(engine)
        migrate.upgrade(engine)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot open case store {url}: {exc}") from exc
    return engine


_IN_CHUNK = 500


def _dialect_insert(conn: Connection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":
        return pg_insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite_insert(table)
    raise StoreError(f"unsupported database {conn.dialect.name}")  # pragma: no cover


def insert_ignore(
    conn: Connection, table: Table, values: dict[str, Any], conflict: list[str]
) -> bool:
    """Insert a row unless one with the same ``conflict`` columns exists; True if inserted."""
    stmt = _dialect_insert(conn, table).values(**values)
    return conn.execute(stmt.on_conflict_do_nothing(index_elements=conflict)).rowcount == 1


def insert_ignore_many(
    conn: Connection, table: Table, rows: list[dict[str, Any]], conflict: list[str]
) -> None:
    """Insert many rows in one statement, skipping those whose ``conflict`` columns exist."""
    if rows:
        stmt = _dialect_insert(conn, table).on_conflict_do_nothing(index_elements=conflict)
        conn.execute(stmt, rows)


@dataclass
class ItemRecord:
    """One finished item, ready to be written with its content and matches."""

    item: Item
    hashes: Hashes | None
    matches: list[Match] = field(default_factory=list)
    container: bool = False


@dataclass(frozen=True)
class ScanContext:
    """Ids of the case, exhibit and scan a writer works for."""

    case_id: int
    exhibit_id: int
    scan_id: int


class CaseStore:
    """Read and write one store (one SQLite file or one PostgreSQL database)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = open_engine(url)

    def close(self) -> None:
        """Release the engine's connections."""
        self.engine.dispose()

    # -- cases and exhibits ---------------------------------------------------

    def ensure_case(self, conn: Connection, name: str) -> int:
        """The id of case ``name``, created if new."""
        check_case_name(name)
        insert_ignore(conn, cases, {"name": name, "created_at": now_text()}, ["name"])
        return int(conn.execute(select(cases.c.id).where(cases.c.name == name)).scalar_one())

    def case_id(self, name: str) -> int:
        """The id of an existing case; UsageError when there is none."""
        with self.engine.connect() as conn:
            row = conn.execute(select(cases.c.id).where(cases.c.name == name)).first()
        if not row:
            raise UsageError(f"no case {name!r} in {self.url}")
        return int(row.id)

    def begin_scan(
        self,
        case: str,
        exhibit: str,
        evidence: Path,
        evidence_kind: str,
        settings: dict[str, Any],
        hashsets: Sequence[dict[str, Any]],
        resume: bool,
        description: str | None = None,
    ) -> ScanContext:
        """Register (or, with ``resume``, reopen) the scan of one exhibit."""
        with self.engine.begin() as conn:
            case_id = self.ensure_case(conn, case)
            row = conn.execute(
                select(exhibits).where(exhibits.c.case_id == case_id, exhibits.c.name == exhibit)
            ).first()
            if row is None:
                exhibit_id = int(
                    conn.execute(
                        insert(exhibits).values(
                            case_id=case_id,
                            name=exhibit,
                            evidence_path=str(evidence),
                            evidence_kind=evidence_kind,
                            description=description,
                            created_at=now_text(),
                        )
                    ).inserted_primary_key[0]
                )
            else:
                exhibit_id = int(row.id)
                if row.evidence_path != str(evidence):
                    raise UsageError(
                        f"exhibit {exhibit!r} of case {case!r} was scanned from "
                        f"{row.evidence_path}, not {evidence}"
                    )
                last = conn.execute(
                    select(scans)
                    .where(scans.c.exhibit_id == exhibit_id)
                    .order_by(scans.c.id.desc())
                ).first()
                if last is not None and not resume:
                    raise UsageError(
                        f"exhibit {exhibit!r} of case {case!r} has already been scanned "
                        f"({last.status}); use --resume to finish an interrupted scan, "
                        "or scan under a new exhibit id"
                    )
                if last is not None and resume:
                    if last.status == "complete":
                        raise UsageError(f"the scan of exhibit {exhibit!r} is already complete")
                    if json.loads(last.settings) != settings:
                        raise UsageError(
                            "--resume needs the same settings as the interrupted scan: "
                            f"it had {last.settings}"
                        )
                    conn.execute(
                        update(scans).where(scans.c.id == last.id).values(status="running")
                    )
                    audit.append(
                        conn,
                        case_id,
                        actor(),
                        "scan-resume",
                        {"exhibit": exhibit, "scan": int(last.id)},
                    )
                    return ScanContext(case_id, exhibit_id, int(last.id))
            scan_id = int(
                conn.execute(
                    insert(scans).values(
                        exhibit_id=exhibit_id,
                        started_at=now_text(),
                        status="running",
                        settings=json.dumps(settings, sort_keys=True),
                        vigil_version=__version__,
                        host=socket.gethostname(),
                    )
                ).inserted_primary_key[0]
            )
            for hs in hashsets:
                conn.execute(insert(scan_hashsets).values(scan_id=scan_id, **hs))
            audit.append(
                conn,
                case_id,
                actor(),
                "scan-start",
                {
                    "exhibit": exhibit,
                    "scan": scan_id,
                    "evidence": str(evidence),
                    "settings": settings,
                    "hashsets": [
                        {"name": h["name"], "source_sha256": h["source_sha256"]} for h in hashsets
                    ],
                    "vigil_version": __version__,
                },
            )
            return ScanContext(case_id, exhibit_id, scan_id)

    def finish_scan(
        self, ctx: ScanContext, status: str = "complete", counts: dict[str, int] | None = None
    ) -> None:
        """Mark the scan finished with ``status`` and log it."""
        with self.engine.begin() as conn:
            conn.execute(
                update(scans)
                .where(scans.c.id == ctx.scan_id)
                .values(status=status, finished_at=now_text())
            )
            audit.append(
                conn,
                ctx.case_id,
                actor(),
                f"scan-{status}",
                {"scan": ctx.scan_id, **(counts or {})},
            )

    # -- resume state ---------------------------------------------------------

    def done_items(self, ctx: ScanContext) -> dict[str, bool | None]:
        """Paths already recorded for the exhibit, mapped to their ``expanded`` state."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(items.c.path, items.c.expanded).where(items.c.exhibit_id == ctx.exhibit_id)
            )
            return {r.path: r.expanded for r in rows}

    def known_contents(self, ctx: ScanContext) -> dict[str, int]:
        """SHA-256 to content id for every content already in the case."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(contents.c.sha256, contents.c.id).where(contents.c.case_id == ctx.case_id)
            )
            return {r.sha256: int(r.id) for r in rows}

    # -- writing --------------------------------------------------------------

    def write_batch(
        self,
        ctx: ScanContext,
        records: Iterable[ItemRecord],
        scan_errors: Iterable[ScanError],
        expanded: Iterable[str],
        content_ids: dict[str, int],
    ) -> None:
        """Write finished items, errors and completed containers in one transaction.

        One statement per table per batch. A content's matches, frames and thumbnails
        are written only by the batch that inserted the content, so a content another
        scan of the case recorded first keeps exactly its own. ``content_ids`` (SHA-256
        to id) is updated once the transaction has committed.
        """
        records = list(records)
        first: dict[str, ItemRecord] = {}
        for rec in records:
            if rec.hashes is not None and rec.hashes.sha256 not in content_ids:
                first.setdefault(rec.hashes.sha256, rec)
        with self.engine.begin() as conn:
            added = self._insert_contents(conn, ctx, list(first.values()))
            known = {**content_ids, **added}
            item_rows = [
                _item_row(ctx, rec, known[rec.hashes.sha256] if rec.hashes else None)
                for rec in records
            ]
            # A unit re-run after a lost worker may bring items already recorded.
            insert_ignore_many(conn, items, item_rows, ["exhibit_id", "path"])
            error_rows = [
                {
                    "exhibit_id": ctx.exhibit_id,
                    "location": e.location,
                    "stage": e.stage,
                    "reason": e.reason,
                }
                for e in scan_errors
            ]
            insert_ignore_many(
                conn, errors, error_rows, ["exhibit_id", "location", "stage", "reason"]
            )
            paths = list(expanded)
            for start in range(0, len(paths), _IN_CHUNK):
                conn.execute(
                    update(items)
                    .where(
                        items.c.exhibit_id == ctx.exhibit_id,
                        items.c.path.in_(paths[start : start + _IN_CHUNK]),
                    )
                    .values(expanded=True)
                )
        content_ids.update(added)

    def _insert_contents(
        self, conn: Connection, ctx: ScanContext, recs: list[ItemRecord]
    ) -> dict[str, int]:
        """Insert the contents of ``recs`` (one record per new SHA-256); SHA-256 -> id."""
        if not recs:
            return {}
        rows = [_content_row(ctx, rec.hashes) for rec in recs if rec.hashes is not None]
        stmt = _dialect_insert(conn, contents).on_conflict_do_nothing(
            index_elements=["case_id", "sha256"]
        )
        inserted = {
            r.sha256: int(r.id)
            for r in conn.execute(stmt.returning(contents.c.id, contents.c.sha256), rows)
        }
        ids = dict(inserted)
        missing = [rec.hashes.sha256 for rec in recs if rec.hashes and rec.hashes.sha256 not in ids]
        for start in range(0, len(missing), _IN_CHUNK):
            # Recorded first by another scan of the same case (another exhibit).
            chunk = missing[start : start + _IN_CHUNK]
            for r in conn.execute(
                select(contents.c.sha256, contents.c.id).where(
                    contents.c.case_id == ctx.case_id, contents.c.sha256.in_(chunk)
                )
            ):
                ids[r.sha256] = int(r.id)
        match_rows, frame_rows, thumb_rows = [], [], []
        for rec in recs:
            h = rec.hashes
            if h is None or h.sha256 not in inserted:
                continue
            content_id = inserted[h.sha256]
            match_rows.extend(_match_row(content_id, m) for m in rec.matches)
            frame_rows.extend(
                {"content_id": content_id, "timestamp": t, "pdq": f.pdq, "quality": f.quality}
                for t, f in sorted({f.timestamp: f for f in h.frames}.items())
            )
            thumb_rows.extend(
                {"content_id": content_id, "timestamp": t, "jpeg": jpeg}
                for t, jpeg in dict(h.thumbnails).items()
            )
        for table, table_rows in (
            (matches, match_rows),
            (frames, frame_rows),
            (thumbnails, thumb_rows),
        ):
            if table_rows:
                conn.execute(insert(table), table_rows)
        return ids


def _content_row(ctx: ScanContext, h: Hashes) -> dict[str, Any]:
    return {
        "case_id": ctx.case_id,
        "sha256": h.sha256,
        "sha1": h.sha1,
        "md5": h.md5,
        "size": h.size,
        "mime": h.mime,
        "media": h.media,
        "pdq": h.pdq,
        "pdq_quality": h.pdq_quality,
        "partial": h.partial,
    }


def _match_row(content_id: int, m: Match) -> dict[str, Any]:
    return {
        "content_id": content_id,
        "hashset": m.hashset,
        "entry_id": m.entry_id,
        "grade": m.grade,
        "basis": m.basis,
        "algorithm": m.algorithm,
        "known_good": m.known_good,
        "distance": m.distance,
        "variant": m.variant,
        "timestamp": m.timestamp,
    }


def _item_row(ctx: ScanContext, rec: ItemRecord, content_id: int | None) -> dict[str, Any]:
    it = rec.item
    return {
        "exhibit_id": ctx.exhibit_id,
        "path": it.path,
        "content_id": content_id,
        "size": rec.hashes.size if rec.hashes is not None else it.size,
        "created": utc_text(it.created),
        "modified": utc_text(it.modified),
        "accessed": utc_text(it.accessed),
        "changed": utc_text(it.changed),
        "allocated": it.allocated,
        "deleted": it.deleted,
        "carved": it.carved,
        "embedded": it.embedded,
        "in_archive": it.in_archive,
        "encrypted": it.encrypted,
        "inode": it.inode,
        "offset": it.offset,
        "parent_path": it.parent,
        "depth": it.depth,
        "expanded": False if rec.container else None,
    }
