"""Row digests: every row a scan writes can be proven unchanged since it was written.

Each row of ``contents``, ``items``, ``matches``, ``errors``, ``frames``,
``thumbnails`` and ``exif`` carries the id of the write batch (one ``CaseStore.write_batch`` call)
that wrote it and a SHA-256 ``digest`` of its values. The batch's digest, over the
sorted row digests, goes into the case's audit chain (action ``scan-batch``), so:

* a value edited in a row no longer matches the row's digest: that row is named;
* a row digest edited too (or a row removed or added) no longer matches its batch's
  digest in the chain: the batch and its rows are named;
* the batch entry edited breaks the chain itself (``audit.verify``).

``items.expanded`` (resume bookkeeping, set by a later batch) and the ids are not
digested; NULL columns are left out, so a column added by a later migration does not
change old rows' digests. Rows from before row digests existed were sealed by
migration 0003 into one batch per case (``legacy`` in its audit entry); a row with no
batch is refused like any other row no batch wrote.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Boolean, Float, Integer, LargeBinary, Table, select
from sqlalchemy.engine import Connection

from vigil.store.schema import (
    audit_log,
    contents,
    errors,
    exhibits,
    exif,
    frames,
    items,
    matches,
    thumbnails,
)

BATCH_ACTION = "scan-batch"
_NOT_DIGESTED = frozenset({"id", "batch", "digest", "expanded"})
PROVEN_TABLES: tuple[Table, ...] = (
    contents,
    items,
    matches,
    errors,
    frames,
    thumbnails,
    exif,
)
_SHOWN = 20
# One encoder for every digest (json.dumps with options builds a new one per call).
_ENCODER = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"))


def _blob_digest(value: Any) -> str:
    return hashlib.sha256(bytes(value)).hexdigest()


def _converter(column: Any) -> Callable[[Any], Any]:
    kind = column.type
    if isinstance(kind, Boolean):
        return bool
    if isinstance(kind, LargeBinary):
        return _blob_digest
    if isinstance(kind, Float):
        return float
    if isinstance(kind, Integer):
        return int
    return str


@functools.lru_cache(maxsize=64)
def _plan(table: Table) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    """The digested columns of a table, by name, each with its canonical form."""
    return tuple(
        (c.name, _converter(c))
        for c in sorted(table.columns, key=lambda c: c.name)
        if c.name not in _NOT_DIGESTED
    )


def row_digest(table: Table, values: Mapping[str, Any]) -> str:
    """SHA-256 of a row's digested values (the non-NULL columns but ids, batch, digest)."""
    pairs = []
    for name, canonical in _plan(table):
        value = values.get(name)
        if value is not None:
            pairs.append([name, canonical(value)])
    text = _ENCODER.encode([table.name, pairs])
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def seal(table: Table, rows: list[dict[str, Any]], batch: int) -> list[dict[str, Any]]:
    """Add ``batch`` and ``digest`` to rows about to be inserted (in place; returned)."""
    for row in rows:
        row["batch"] = batch
        row["digest"] = row_digest(table, row)
    return rows


def batch_digest(digests: Iterable[str]) -> str:
    """SHA-256 over a batch's row digests, sorted (independent of insert order)."""
    return hashlib.sha256("\n".join(sorted(digests)).encode("ascii")).hexdigest()


@dataclass(frozen=True)
class RowProblem:
    """One row (or batch) that is not as it was written."""

    table: str
    row_id: int | None
    batch: int | None
    what: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.table} row {self.row_id}" if self.row_id is not None else self.table
        batch = f", batch {self.batch}" if self.batch is not None else ""
        return f"{where} ({self.what}{batch}): {self.reason}"


@dataclass
class RowCheck:
    """What ``verify_rows`` found."""

    rows: int = 0
    batches: int = 0
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No row differs from what its batch wrote."""
        return not self.problems

    def message(self, case: str) -> str:
        """One clear message naming the changed rows (the first 20)."""
        shown = "; ".join(str(p) for p in self.problems[:_SHOWN])
        more = len(self.problems) - _SHOWN
        tail = f"; and {more} more" if more > 0 else ""
        return (
            f"case {case}: {len(self.problems)} stored row(s) differ from what the scan wrote "
            f"(row digests in the audit chain): {shown}{tail}. The case store has been "
            "changed outside vigil; restore it from a copy or rescan the exhibit"
        )


def _label(table: Table, row: Any) -> str:
    if table is items:
        return f"path {row.path}"
    if table is errors:
        return f"error at {row.location}"
    if table is contents:
        return f"sha256 {row.sha256}"
    return f"content {row.content_id}"


def case_rows(
    conn: Connection, case_id: int, table: Table, case_tables: tuple[Table, Table] | None = None
) -> Iterable[Any]:
    """Every row of ``table`` that belongs to the case, by id.

    ``case_tables`` is (exhibits, contents) as the caller sees them (a migration passes
    reflected tables); default the current schema's.
    """
    exhibit_t, content_t = case_tables or (exhibits, contents)
    if table.name == "contents":
        where = table.c.case_id == case_id
    elif "exhibit_id" in table.c:
        ids = select(exhibit_t.c.id).where(exhibit_t.c.case_id == case_id)
        where = table.c.exhibit_id.in_(ids)
    else:
        ids = select(content_t.c.id).where(content_t.c.case_id == case_id)
        where = table.c.content_id.in_(ids)
    return conn.execute(select(table).where(where).order_by(table.c.id))


def _recorded_batches(conn: Connection, case_id: int) -> dict[int, dict[str, Any]]:
    found = {}
    rows = conn.execute(
        select(audit_log.c.details).where(
            audit_log.c.case_id == case_id, audit_log.c.action == BATCH_ACTION
        )
    )
    for (details,) in rows:
        data = json.loads(details)
        found[int(data["batch"])] = data
    return found


def verify_rows(conn: Connection, case_id: int) -> RowCheck:
    """Recompute every scan-written row's digest and every batch digest of a case."""
    check = RowCheck()
    recorded = _recorded_batches(conn, case_id)
    check.batches = len(recorded)
    stored: dict[int, list[str]] = defaultdict(list)
    members: dict[int, list[tuple[Table, Any]]] = defaultdict(list)
    for table in PROVEN_TABLES:
        for row in case_rows(conn, case_id, table):
            check.rows += 1
            if row.batch is None:
                check.problems.append(
                    RowProblem(
                        table.name, row.id, None, _label(table, row), "no write batch wrote it"
                    )
                )
                continue
            stored[row.batch].append(row.digest or "")
            members[row.batch].append((table, row))
            if row_digest(table, row._asdict()) != row.digest:
                check.problems.append(
                    RowProblem(
                        table.name,
                        row.id,
                        row.batch,
                        _label(table, row),
                        "values changed since written",
                    )
                )
    changed = {(p.table, p.row_id) for p in check.problems}
    for batch in sorted(set(stored) | set(recorded)):
        entry = recorded.get(batch)
        if entry is None:
            for table, row in members[batch]:
                check.problems.append(
                    RowProblem(
                        table.name,
                        row.id,
                        batch,
                        _label(table, row),
                        "its write batch is not in the audit chain",
                    )
                )
            continue
        if batch_digest(stored.get(batch, [])) == entry["digest"]:
            continue
        found = len(stored.get(batch, []))
        named = [
            RowProblem(t.name, r.id, batch, _label(t, r), "its batch's digest does not match")
            for t, r in members[batch]
            if (t.name, r.id) not in changed
        ]
        if found != int(entry["rows"]) or not named:
            check.problems.append(
                RowProblem(
                    "row_batches",
                    None,
                    batch,
                    f"{entry['rows']} rows written, {found} found",
                    "rows were removed, added or their digests edited",
                )
            )
        else:
            # As many rows as written, one of them edited with its digest: all are suspect.
            check.problems.extend(named)
    return check
