"""The lab-wide content index: every content's hashes -> the cases and exhibits holding it.

Written once per exhibit at the end of each scan (one read of the case store, one
transaction in the lab store): measured against per-batch writes, it adds nothing to the
scan loop, and a scan that is resumed re-indexes the whole exhibit, so the index never
holds a half-scanned exhibit's partial view for long (``docs/benchmarks.md``). The
exhibit's new pictures are then searched against every older picture of the lab, the
pairs within PDQ's distance stored (``links``), and appended to the lab's PDQ files
(``pdq_files``), all under the files' lock.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Connection, Engine

from vigil.intel.links import link_pending
from vigil.intel.pdq_files import PdqFiles, lab_folder
from vigil.store.api import CaseStore, insert_ignore
from vigil.store.clock import now_text
from vigil.store.failures import translated
from vigil.store.schema import cases, contents, exhibits, items
from vigil.web.lab import writing
from vigil.web.labschema import intel_contents, intel_holders

_CHUNK = 500
log = logging.getLogger("vigil.intel")


@dataclass(frozen=True)
class IndexResult:
    """What indexing one exhibit did."""

    case: str
    exhibit: str
    contents: int  # distinct contents the exhibit holds
    new_contents: int  # of those, first seen in the lab
    checked: int  # pictures searched against the older ones of the lab (``links``)
    links: int  # perceptual pairs that search stored
    link_seconds: float  # the search and its writes
    seconds: float  # the whole step (lab store, search, PDQ files)


def _exhibit_contents(store: CaseStore, case: str, exhibit: str) -> list[dict[str, Any]]:
    """Distinct contents of one exhibit with their item counts, from the case store."""
    query = (
        select(
            contents.c.sha256,
            contents.c.sha1,
            contents.c.md5,
            contents.c.size,
            contents.c.media,
            contents.c.pdq,
            contents.c.pdq_quality,
            func.count(items.c.id).label("n"),
        )
        .select_from(
            items.join(contents, items.c.content_id == contents.c.id)
            .join(exhibits, items.c.exhibit_id == exhibits.c.id)
            .join(cases, exhibits.c.case_id == cases.c.id)
        )
        .where(cases.c.name == case, exhibits.c.name == exhibit)
        .group_by(contents.c.id)
    )
    doing = "reading the exhibit for the lab index"
    with translated(store.url, doing), store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def content_ids(conn: Connection, sha256s: list[str]) -> dict[str, int]:
    """Index row ids of the given SHA-256 values (those present)."""
    found: dict[str, int] = {}
    for start in range(0, len(sha256s), _CHUNK):
        chunk = sha256s[start : start + _CHUNK]
        rows = conn.execute(
            select(intel_contents.c.sha256, intel_contents.c.id).where(
                intel_contents.c.sha256.in_(chunk)
            )
        )
        found.update({r.sha256: int(r.id) for r in rows})
    return found


def index_rows(
    lab: Engine, case: str, exhibit: str, rows: list[dict[str, Any]]
) -> IndexResult:
    """Replace what the index says exhibit ``exhibit`` of ``case`` holds by ``rows``, and
    link the contents new to the lab with every older one (``links``).

    The lab's PDQ folder lock is held from the first write to the last, so the contents
    of two exhibits indexed at once enter, and are searched, one exhibit after the other.

    Args:
        lab: The lab store.
        case: Case name.
        exhibit: Exhibit name.
        rows: One dict per distinct content: ``sha256, sha1, md5, size, media, pdq,
            pdq_quality, n`` (n = items holding it in the exhibit).

    Returns:
        The counts and times.
    """
    started = time.perf_counter()
    folder = lab_folder(lab)
    pending = None
    fresh: int | None = None
    if folder is not None:
        files = PdqFiles(folder)
        try:
            with files.locked() as manifest:
                fresh = _write_rows(lab, case, exhibit, rows)
                pending = files.catch_up_locked(lab, manifest)[1]
        except OSError as exc:
            # The lab store is the record: the search runs from it instead, and the next
            # ``vigil intel`` adds the rows to the files.
            log.warning("lab PDQ files at %s not updated (the next query will): %s", folder,
                        exc)
    if fresh is None:
        fresh = _write_rows(lab, case, exhibit, rows)
    if pending is None:
        pending = link_pending(lab, [], None)
    return IndexResult(
        case, exhibit, len(rows), fresh, pending.checked, pending.links,
        round(pending.seconds, 3), round(time.perf_counter() - started, 3),
    )


def _write_rows(lab: Engine, case: str, exhibit: str, rows: list[dict[str, Any]]) -> int:
    """The lab-store part of ``index_rows``: contents new to the lab, the exhibit's holders.

    Returns:
        How many of the contents were new to the lab.
    """
    at = now_text()
    with writing(lab) as conn:
        known = content_ids(conn, [r["sha256"] for r in rows])
        fresh = [r for r in rows if r["sha256"] not in known]
        if fresh:
            if conn.dialect.name == "sqlite":
                # One statement for the batch: fresh rows are new by construction, and
                # the write lock is held, so no other writer can add them meanwhile.
                conn.execute(
                    intel_contents.insert(),
                    [{k: r[k] for k in _CONTENT_KEYS} for r in fresh],
                )
            else:
                for r in fresh:
                    insert_ignore(
                        conn, intel_contents, {k: r[k] for k in _CONTENT_KEYS}, ["sha256"]
                    )
            known.update(content_ids(conn, [r["sha256"] for r in fresh]))
        conn.execute(
            delete(intel_holders).where(
                intel_holders.c.case_name == case, intel_holders.c.exhibit == exhibit
            )
        )
        if rows:
            conn.execute(
                intel_holders.insert(),
                [
                    {
                        "content_id": known[r["sha256"]],
                        "case_name": case,
                        "exhibit": exhibit,
                        "items": int(r["n"]),
                        "indexed_at": at,
                    }
                    for r in rows
                ],
            )
    return len(fresh)


_CONTENT_KEYS = ("sha256", "sha1", "md5", "size", "media", "pdq", "pdq_quality")


def index_exhibit(lab: Engine, store: CaseStore, case: str, exhibit: str) -> IndexResult:
    """Bring the lab index up to date with one exhibit of a case store.

    Args:
        lab: The lab store (``vigil.web.lab.open_lab``).
        store: The case store the exhibit was scanned into.
        case: Case name.
        exhibit: Exhibit name.

    Returns:
        How many distinct contents the exhibit holds and how many were new to the lab.

    Raises:
        StoreError: If either store cannot be read or written.
    """
    rows = _exhibit_contents(store, case, exhibit)
    with translated(str(lab.url), "writing the lab content index"):
        return index_rows(lab, case, exhibit, rows)


def index_case(lab: Engine, store: CaseStore, case: str) -> list[IndexResult]:
    """``index_exhibit`` for every exhibit of a case (``vigil intel CASE --refresh``)."""
    with translated(store.url, "listing exhibits"), store.engine.connect() as conn:
        names = conn.execute(
            select(exhibits.c.name)
            .join(cases, exhibits.c.case_id == cases.c.id)
            .where(cases.c.name == case)
            .order_by(exhibits.c.name)
        ).scalars().all()
    return [index_exhibit(lab, store, case, name) for name in names]
