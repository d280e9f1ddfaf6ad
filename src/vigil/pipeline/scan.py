"""The scan loop: list the evidence, run work units on an executor, write their results.

1. The evidence is walked once (no content is read) to list its top-level items;
   the list is cut into work units (``pipeline/units.py``).
2. Units run on an executor (threads, local processes or a Dask cluster), at most a
   few per worker at a time so memory stays bounded whatever the evidence size.
3. Each unit's result is written in one transaction: its items, their contents and
   matches, its errors, and the containers it finished. So after a crash
   ``--resume`` skips exactly what is recorded, re-enters containers that were not
   finished, and nothing is missed or counted twice.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from vigil.model import Item, ScanError
from vigil.pipeline.executors import make_executor
from vigil.pipeline.units import UnitResult, WorkUnit, plan_units, run_unit, warm_up
from vigil.sources import SourceOptions, evidence_kind, open_evidence
from vigil.store.api import CaseStore, ScanContext


@dataclass(frozen=True)
class ScanSettings:
    """Everything that decides a scan's result; stored with the scan and in reports."""

    hashsets: tuple[str, ...] = ()
    max_depth: int = 8
    carve: bool = False
    vss: bool = False
    pdq_mode: str = "fast"
    pdq_min_quality: int = 50
    pdq_max_distance: int = 31
    video_fps: float = 1.0
    video_match_threshold: float = 0.8

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form (tuples become lists)."""
        data = asdict(self)
        data["hashsets"] = list(self.hashsets)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScanSettings:
        """The inverse of ``as_dict``."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["hashsets"] = tuple(values.get("hashsets", ()))
        return cls(**values)


@dataclass
class Progress:
    """Counters the loop updates; read by the CLI's progress bar."""

    items: int = 0
    bytes: int = 0
    errors: int = 0
    skipped: int = 0
    total_items: int | None = None
    total_bytes: int | None = None


@dataclass
class ScanSummary:
    """What one run of the scan loop did."""

    case: str
    exhibit: str
    store: str
    scan_id: int
    items: int = 0
    new_contents: int = 0
    bytes: int = 0
    errors: int = 0
    skipped: int = 0
    matches: int = 0
    units: int = 0
    resumed: bool = False
    elapsed: float = 0.0
    status: str = "complete"
    media: dict[str, int] = field(default_factory=dict)


def list_top_level(
    evidence: Path, kind: str, settings: ScanSettings
) -> tuple[list[tuple[str, int | None]], list[ScanError]]:
    """The evidence's top-level items ``(path, size)`` in source order, and source errors."""
    items: list[tuple[str, int | None]] = []
    errors: list[ScanError] = []
    options = SourceOptions(vss=settings.vss, carve=settings.carve)
    for entry in open_evidence(evidence, options, kind):
        if isinstance(entry, Item):
            items.append((entry.path, entry.size))
        else:
            errors.append(entry)
    return items, errors


def _resume_sets(
    done: dict[str, bool | None], paths: tuple[str, ...]
) -> tuple[frozenset[str], frozenset[str]]:
    """Recorded paths under the unit's items, and the unfinished containers among them."""
    ordered = sorted(done)
    found: set[str] = set()
    for top in paths:
        if top not in done:
            continue
        found.add(top)
        # Members sort right after their container: "a.zip" < "a.zip!x" < "a.zip@1".
        i = bisect.bisect_right(ordered, top)
        while i < len(ordered) and ordered[i].startswith((top + "!", top + "@")):
            found.add(ordered[i])
            i += 1
    return frozenset(found), frozenset(p for p in found if done[p] is False)


def run_scan(
    store: CaseStore,
    case: str,
    exhibit: str,
    evidence: Path,
    settings: ScanSettings,
    home: Path,
    hashset_records: list[dict[str, object]] | None = None,
    resume: bool = False,
    workers: int = 2,
    executor: str = "processes",
    cluster: str | None = None,
    progress: Progress | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    kind: str | None = None,
) -> ScanSummary:
    """Scan ``evidence`` into ``store`` as exhibit ``exhibit`` of ``case``.

    Args:
        store: the case store to write to.
        case: case name.
        exhibit: exhibit id within the case.
        evidence: a folder or a forensic image.
        settings: what decides the result (recorded with the scan).
        home: the vigil home holding the hash-set library (shared storage for a cluster).
        hashset_records: descriptions of the hash sets used, for the report header.
        resume: finish an interrupted scan of the same exhibit.
        workers: local worker threads or processes.
        executor: ``processes`` or ``threads`` on this machine.
        cluster: a Dask scheduler address; units then run on the cluster.
        progress: counters to update (created if None).
        on_progress: called after each unit is written.
        kind: ``evidence_kind(evidence)`` when the caller has already found it.

    Returns:
        A summary of this run.
    """
    evidence = Path(evidence).resolve()
    started = time.monotonic()
    kind = kind or evidence_kind(evidence)
    ctx = store.begin_scan(
        case, exhibit, evidence, kind, settings.as_dict(), hashset_records or [], resume
    )
    progress = progress or Progress()
    summary = ScanSummary(case, exhibit, store.url, ctx.scan_id)
    pool = make_executor(executor, workers, cluster)
    try:
        return _scan_with(
            pool,
            store,
            ctx,
            evidence,
            kind,
            settings,
            home,
            resume,
            workers,
            progress,
            on_progress,
            summary,
            started,
        )
    finally:
        pool.close()


def _scan_with(
    pool: Any,
    store: CaseStore,
    ctx: ScanContext,
    evidence: Path,
    kind: str,
    settings: ScanSettings,
    home: Path,
    resume: bool,
    workers: int,
    progress: Progress,
    on_progress: Callable[[Progress], None] | None,
    summary: ScanSummary,
    started: float,
) -> ScanSummary:
    # Workers import their libraries and open the hash-set library while the
    # evidence is being listed, not after.
    for _ in range(workers):
        pool.submit(warm_up, settings.as_dict(), str(home))
    top, source_errors = list_top_level(evidence, kind, settings)
    progress.total_items = len(top)
    progress.total_bytes = sum(size or 0 for _p, size in top)
    done = store.done_items(ctx) if resume else {}
    summary.resumed = bool(done)
    content_ids = store.known_contents(ctx)
    store.write_batch(ctx, [], source_errors, [], content_ids)
    summary.errors += len(source_errors)
    units = []
    for unit in plan_units(evidence, kind, top):
        unit_done, reenter = _resume_sets(done, unit.paths) if done else (frozenset(), frozenset())
        complete = all(p in unit_done and p not in reenter for p in unit.paths)
        if complete and not reenter:
            summary.skipped += len(unit.paths)
            progress.skipped += len(unit.paths)
            continue
        units.append(replace(unit, done=unit_done, reenter=reenter))
    status = "complete"
    try:
        _run_units(
            pool,
            units,
            settings,
            home,
            workers,
            ctx,
            store,
            content_ids,
            summary,
            progress,
            on_progress,
        )
    except KeyboardInterrupt:
        status = "interrupted"
        store.finish_scan(ctx, status, _counts(summary))
        raise
    store.finish_scan(ctx, status, _counts(summary))
    summary.status = status
    summary.elapsed = time.monotonic() - started
    return summary


def _counts(summary: ScanSummary) -> dict[str, int]:
    return {"items": summary.items, "errors": summary.errors, "skipped": summary.skipped}


def _run_units(
    pool: Any,
    units: list[WorkUnit],
    settings: ScanSettings,
    home: Path,
    workers: int,
    ctx: ScanContext,
    store: CaseStore,
    content_ids: dict[str, int],
    summary: ScanSummary,
    progress: Progress,
    on_progress: Callable[[Progress], None] | None,
) -> None:
    # A few units per worker in flight: enough to keep workers busy, few enough that
    # results waiting to be written never hold much memory.
    limit = max(2, workers * 3)
    queue = list(reversed(units))
    inflight: set[Any] = set()
    settings_dict = settings.as_dict()
    while queue or inflight:
        while queue and len(inflight) < limit:
            inflight.add(pool.submit(run_unit, queue.pop(), settings_dict, str(home)))
        for future in pool.completed(inflight):
            inflight.discard(future)
            _write(future.result(), ctx, store, content_ids, summary, progress)
            if on_progress:
                on_progress(progress)


def _write(
    result: UnitResult,
    ctx: ScanContext,
    store: CaseStore,
    content_ids: dict[str, int],
    summary: ScanSummary,
    progress: Progress,
) -> None:
    new = [r for r in result.records if r.hashes is not None and r.hashes.sha256 not in content_ids]
    store.write_batch(ctx, result.records, result.errors, result.expanded, content_ids)
    summary.units += 1
    summary.items += len(result.records)
    summary.new_contents += len({r.hashes.sha256 for r in new if r.hashes})
    summary.matches += sum(len(r.matches) for r in new)
    summary.errors += len(result.errors)
    summary.bytes += result.bytes
    for r in result.records:
        if r.hashes is not None:
            summary.media[r.hashes.media] = summary.media.get(r.hashes.media, 0) + 1
    progress.items += len(result.records)
    progress.bytes += result.top_bytes
    progress.errors += len(result.errors)
