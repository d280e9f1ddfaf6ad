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
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Table, create_engine, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from vigil import __version__
from vigil.errors import StoreError, UsageError
from vigil.hashing.exif import taken_iso
from vigil.model import ExifFacts, Hashes, Item, Match, ScanError, locator_text
from vigil.names import escape_name, name_bytes, unescape_name, visible
from vigil.store import audit, migrate, rowproof
from vigil.store.clock import now_text, utc_text
from vigil.store.failures import shown_url, translated
from vigil.store.schema import (
    cases,
    contents,
    errors,
    exhibits,
    exif,
    frames,
    items,
    matches,
    row_batches,
    scan_hashsets,
    scans,
    thumbnails,
)
from vigil.store.sqlite import configure_sqlite
from vigil.store.writer_lock import ExhibitLock

_CASE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
_EXTRACTION_FIELDS = ("extraction_type", "extraction_tool", "extraction_version", "device")

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


def open_engine(url: str, busy_timeout: float = 30.0) -> Engine:
    """Create an engine for ``url`` and migrate the schema to the newest revision.

    ``busy_timeout`` is how many seconds a SQLite writer waits for another's lock.
    """
    try:
        engine = create_engine(normalise_url(url), future=True)
    except (SQLAlchemyError, ValueError) as exc:
        raise StoreError(f"cannot open case store {shown_url(url)}: {exc}") from exc
    configure_sqlite(engine, busy_timeout)
    with translated(url, "opening it"):
        migrate.upgrade(engine)
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

    def __init__(self, url: str, busy_timeout: float = 30.0) -> None:
        self.url = url
        self.engine = open_engine(url, busy_timeout)
        self._lock: ExhibitLock | None = None

    def close(self) -> None:
        """Release the exhibit writer lock (if held) and the engine's connections."""
        self.release_lock()
        self.engine.dispose()

    @contextmanager
    def _unlock_on_error(self) -> Iterator[None]:
        try:
            yield
        except BaseException:
            self.release_lock()
            raise

    def release_lock(self) -> None:
        """Give up the exhibit writer lock taken by ``begin_scan`` (idempotent)."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    # -- cases and exhibits ---------------------------------------------------

    def ensure_case(self, conn: Connection, name: str) -> int:
        """The id of case ``name``, created if new."""
        check_case_name(name)
        insert_ignore(conn, cases, {"name": name, "created_at": now_text()}, ["name"])
        return int(conn.execute(select(cases.c.id).where(cases.c.name == name)).scalar_one())

    def case_id(self, name: str) -> int:
        """The id of an existing case; UsageError when there is none."""
        with translated(self.url, "looking up the case"), self.engine.connect() as conn:
            row = conn.execute(select(cases.c.id).where(cases.c.name == name)).first()
        if not row:
            raise UsageError(f"no case {name!r} in {shown_url(self.url)}")
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
        """Register (or, with ``resume``, reopen) the scan of one exhibit.

        Takes the exhibit's writer lock first and holds it until ``finish_scan`` or
        ``close``: a second process scanning the same exhibit gets a ``StoreError``.
        """
        self.release_lock()
        with self._unlock_on_error(), translated(self.url, f"starting the scan of {exhibit}"):
            self._lock = ExhibitLock(self.engine, case, exhibit)
            evidence_text = escape_name(str(evidence))
            with self.engine.begin() as conn:
                case_id = self.ensure_case(conn, case)
                row = conn.execute(
                    select(exhibits).where(
                        exhibits.c.case_id == case_id, exhibits.c.name == exhibit
                    )
                ).first()
                if row is None:
                    exhibit_id = int(
                        conn.execute(
                            insert(exhibits).values(
                                case_id=case_id,
                                name=exhibit,
                                evidence_path=evidence_text,
                                evidence_kind=evidence_kind,
                                description=description,
                                created_at=now_text(),
                            )
                        ).inserted_primary_key[0]
                    )
                else:
                    exhibit_id = int(row.id)
                    if row.evidence_path != evidence_text:
                        raise UsageError(
                            f"exhibit {exhibit!r} of case {case!r} was scanned from "
                            f"{row.evidence_path}, not {evidence_text}"
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
                        "evidence": evidence_text,
                        "settings": settings,
                        "hashsets": [
                            {"name": h["name"], "source_sha256": h["source_sha256"]}
                            for h in hashsets
                        ],
                        "vigil_version": __version__,
                    },
                )
                return ScanContext(case_id, exhibit_id, scan_id)

    def finish_scan(
        self, ctx: ScanContext, status: str = "complete", counts: dict[str, int] | None = None
    ) -> None:
        """Mark the scan finished with ``status``, log it and release the writer lock."""
        with translated(self.url, "finishing the scan"), self.engine.begin() as conn:
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
        self.release_lock()

    def record_media_check(
        self,
        ctx: ScanContext,
        stored_md5: str | None,
        stored_sha1: str | None,
        result: str,
        details: dict[str, Any],
    ) -> None:
        """Keep the scan's integrity pass of the evidence with its exhibit, and log it.

        ``result`` (at most 20 characters) is what the report header shows beside the
        acquisition hashes; ``details`` go into the audit entry.
        """
        with self.engine.begin() as conn:
            conn.execute(
                update(exhibits)
                .where(exhibits.c.id == ctx.exhibit_id)
                .values(
                    acquisition_md5=stored_md5,
                    acquisition_sha1=stored_sha1,
                    verify_result=result[:20],
                )
            )
            audit.append(
                conn, ctx.case_id, actor(), "media-check", {"scan": ctx.scan_id, **details}
            )

    def record_extraction(self, ctx: ScanContext, info: dict[str, str | None]) -> None:
        """Keep what a phone extraction says made it with its exhibit, and log it.

        ``info`` has ``extraction_type``, ``extraction_tool``, ``extraction_version`` and
        ``device`` (each None when the extraction does not say).
        """
        values = {k: info.get(k) for k in _EXTRACTION_FIELDS}
        with self.engine.begin() as conn:
            conn.execute(update(exhibits).where(exhibits.c.id == ctx.exhibit_id).values(**values))
            audit.append(
                conn, ctx.case_id, actor(), "extraction-info", {"scan": ctx.scan_id, **values}
            )

    # -- resume state ---------------------------------------------------------

    def done_items(self, ctx: ScanContext) -> dict[str, bool | None]:
        """Paths already recorded for the exhibit, mapped to their ``expanded`` state.

        The paths are exactly the ``Item.path`` strings the scan wrote (surrogate
        escapes and control characters included), not their stored display form.
        """
        doing = "reading what is already recorded"
        with translated(self.url, doing), self.engine.connect() as conn:
            rows = conn.execute(
                select(items.c.path, items.c.expanded).where(items.c.exhibit_id == ctx.exhibit_id)
            )
            return {unescape_name(r.path): r.expanded for r in rows}

    def known_contents(self, ctx: ScanContext) -> dict[str, int]:
        """SHA-256 to content id for every content already in the case."""
        with translated(self.url, "reading the case's contents"), self.engine.connect() as conn:
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

        One statement per table per batch. A content's matches, frames, thumbnails and
        camera facts are written only by the batch that inserted the content, so a content another
        scan of the case recorded first keeps exactly its own. ``content_ids`` (SHA-256
        to id) is updated once the transaction has committed.
        """
        records = list(records)
        scan_errors = list(scan_errors)
        paths = [escape_name(p) for p in expanded]
        first: dict[str, ItemRecord] = {}
        for rec in records:
            if rec.hashes is not None and rec.hashes.sha256 not in content_ids:
                first.setdefault(rec.hashes.sha256, rec)
        with translated(self.url, "writing scan results"), self.engine.begin() as conn:
            batch = 0
            digests: list[str] = []
            if records or scan_errors:
                batch = int(
                    conn.execute(
                        insert(row_batches).values(scan_id=ctx.scan_id, rows=0)
                    ).inserted_primary_key[0]
                )
            added = self._insert_contents(conn, ctx, list(first.values()), batch, digests)
            known = {**content_ids, **added}
            item_rows = [
                _item_row(ctx, rec, known[rec.hashes.sha256] if rec.hashes else None)
                for rec in records
            ]
            # A unit re-run after a lost worker may bring items already recorded.
            digests += _insert_sealed(conn, items, item_rows, batch, ["exhibit_id", "path"])
            error_rows = [
                {
                    "exhibit_id": ctx.exhibit_id,
                    "location": escape_name(e.location),
                    "stage": e.stage,
                    "reason": visible(e.reason),
                }
                for e in scan_errors
            ]
            digests += _insert_sealed(
                conn, errors, error_rows, batch, ["exhibit_id", "location", "stage", "reason"]
            )
            for start in range(0, len(paths), _IN_CHUNK):
                conn.execute(
                    update(items)
                    .where(
                        items.c.exhibit_id == ctx.exhibit_id,
                        items.c.path.in_(paths[start : start + _IN_CHUNK]),
                    )
                    .values(expanded=True)
                )
            if batch:
                self._seal_batch(conn, ctx, batch, digests)
        content_ids.update(added)

    def _seal_batch(
        self, conn: Connection, ctx: ScanContext, batch: int, digests: list[str]
    ) -> None:
        """Record the batch's digest in its row and in the audit chain (or drop an empty one)."""
        if not digests:
            conn.execute(delete(row_batches).where(row_batches.c.id == batch))
            return
        digest = rowproof.batch_digest(digests)
        conn.execute(
            update(row_batches)
            .where(row_batches.c.id == batch)
            .values(rows=len(digests), digest=digest)
        )
        audit.append(
            conn,
            ctx.case_id,
            actor(),
            rowproof.BATCH_ACTION,
            {"scan": ctx.scan_id, "batch": batch, "rows": len(digests), "digest": digest},
        )

    def _insert_contents(
        self,
        conn: Connection,
        ctx: ScanContext,
        recs: list[ItemRecord],
        batch: int,
        digests: list[str],
    ) -> dict[str, int]:
        """Insert the contents of ``recs`` (one record per new SHA-256); SHA-256 -> id.

        The digests of the rows written are appended to ``digests``.
        """
        if not recs:
            return {}
        rows = [_content_row(ctx, rec.hashes) for rec in recs if rec.hashes is not None]
        rowproof.seal(contents, rows, batch)
        stmt = _dialect_insert(conn, contents).on_conflict_do_nothing(
            index_elements=["case_id", "sha256"]
        )
        inserted = {}
        for r in conn.execute(
            stmt.returning(contents.c.id, contents.c.sha256, contents.c.digest), rows
        ):
            inserted[r.sha256] = int(r.id)
            digests.append(r.digest)
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
        match_rows, frame_rows, thumb_rows, exif_rows = [], [], [], []
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
            if h.exif:
                exif_rows.append(_exif_row(content_id, h.exif))
        for table, table_rows in (
            (matches, match_rows),
            (frames, frame_rows),
            (thumbnails, thumb_rows),
            (exif, exif_rows),
        ):
            if table_rows:
                conn.execute(insert(table), rowproof.seal(table, table_rows, batch))
                digests.extend(r["digest"] for r in table_rows)
        return ids


def _insert_sealed(
    conn: Connection, table: Table, rows: list[dict[str, Any]], batch: int, conflict: list[str]
) -> list[str]:
    """Insert rows (skipping those whose ``conflict`` columns exist); their digests."""
    if not rows:
        return []
    stmt = _dialect_insert(conn, table).on_conflict_do_nothing(index_elements=conflict)
    result = conn.execute(stmt.returning(table.c.digest), rowproof.seal(table, rows, batch))
    return [r.digest for r in result]


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


def _exif_row(content_id: int, facts: ExifFacts) -> dict[str, Any]:
    return {
        "content_id": content_id,
        "make": facts.make,
        "model": facts.model,
        "body_serial": facts.serial,
        "lens_make": facts.lens_make,
        "lens_model": facts.lens_model,
        "lens_serial": facts.lens_serial,
        "taken": taken_iso(facts.date_taken),
        "latitude": facts.latitude,
        "longitude": facts.longitude,
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
        "path": escape_name(it.path),
        "path_raw": name_bytes(it.path),
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
        "parent_path": escape_name(it.parent) if it.parent is not None else None,
        "depth": it.depth,
        "locator": locator_text(it.locator) if it.locator is not None else None,
        "expanded": False if rec.container else None,
        "app": it.app,
        "linked_path": escape_name(it.linked) if it.linked is not None else None,
    }
