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
import hashlib
import queue as queue_module
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from vigil.errors import BatchRejected
from vigil.hashsets.library import library_state
from vigil.model import Item, ScanError
from vigil.names import escape_name, visible
from vigil.pipeline.batches import Batch
from vigil.pipeline.executors import make_executor
from vigil.pipeline.shipping import Shipment
from vigil.pipeline.shipping import remove as remove_shipment
from vigil.pipeline.units import UnitPlanner, WorkUnit, run_shipment, run_unit, warm_up
from vigil.sources import SourceOptions, evidence_kind, open_evidence
from vigil.sources.expand import Limits
from vigil.sources.extraction import KINDS, extraction_info
from vigil.sources.verify import MediaCheck, check_media, is_ewf
from vigil.store.api import CaseStore, ScanContext

# How often a unit whose worker was lost is run again before it is recorded as lost.
RETRIES = 1


@dataclass(frozen=True)
class ScanSettings:
    """Everything that decides a scan's result; stored with the scan and in reports."""

    hashsets: tuple[str, ...] = ()
    max_depth: int = 8
    max_members: int = Limits.max_members
    max_ratio: float = Limits.max_ratio
    min_bytes: int = Limits.min_bytes
    max_bytes: int = Limits.max_bytes
    max_seconds: float = Limits.max_seconds
    max_item_seconds: float = Limits.max_item_seconds
    carve: bool = False
    # Carve pictures out of allocated files of no known kind (.dll, pagefile.sys ...).
    carve_files: bool = True
    vss: bool = False
    pdq_mode: str = "fast"
    pdq_min_quality: int = 50
    pdq_max_distance: int = 31
    # Small-rotation query variants (about 3x the hashing cost of a picture).
    pdq_tilts: bool = True
    # Cropped-copy query variants (5% and 10% crops put back in frame): six by default
    # (``pdq_uncrops.DEFAULT``); True: all 18, about 2.5x the hashing of a picture (the
    # lab bank's region signatures find crops anyway; see docs/perceptual.md).
    pdq_uncrops: bool = False
    # Pictures no exact hash or PDQ matched are looked up by their keypoints in the sets
    # that hold region signatures (the lab bank; see matching/lab_regions.py).
    lab_regions: bool = True
    video_fps: float = 1.0
    video_match_threshold: float = 0.8
    # E01/Ex01: read the whole media once first (chunk checksums, acquisition hash).
    verify_media: bool = True
    # An encrypted iOS backup's password is read from this file (the path is kept, never
    # the password).
    password_file: str | None = None

    def limits(self) -> Limits:
        """The budgets of each top-level item."""
        return Limits(
            max_depth=self.max_depth,
            max_members=self.max_members,
            max_ratio=self.max_ratio,
            min_bytes=self.min_bytes,
            max_bytes=self.max_bytes,
            max_seconds=self.max_seconds,
            max_item_seconds=self.max_item_seconds,
            carve_files=self.carve_files,
        )

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
    shipped: int = 0  # members of containers analysed by a worker other than their walker
    resumed: bool = False
    elapsed: float = 0.0
    status: str = "complete"
    media: dict[str, int] = field(default_factory=dict)


def list_top_level(
    evidence: Path,
    kind: str,
    settings: ScanSettings,
    planner: UnitPlanner,
    media: MediaCheck | None = None,
) -> list[ScanError]:
    """List the evidence's top-level items, in source order, into ``planner``; the
    source errors.

    A forensic image's items themselves go to the planner too (its units carry them, so
    that no worker lists the image again). With ``media`` (the integrity pass of an
    E01), items over bad chunks get records.
    """
    errors: list[ScanError] = []
    options = SourceOptions(
        vss=settings.vss, carve=settings.carve, media=media, password_file=settings.password_file
    )
    for entry in open_evidence(evidence, options, kind):
        if isinstance(entry, Item):
            planner.add(entry.path, entry.size, entry if kind == "image" else None)
        else:
            errors.append(entry)
    return errors


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
    workers = pool.size
    spool = _spool_dir(store, home, case, exhibit)
    try:
        return _scan_with(
            pool,
            # Members are spooled and shipped through the case folder only where every
            # worker sees it (without shared storage a cluster worker spools to its own
            # temp folder and ships nothing).
            str(spool) if pool.sees(str(spool)) else None,
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
        shutil.rmtree(spool, ignore_errors=True)


def _check_media(
    store: CaseStore, ctx: ScanContext, evidence: Path, kind: str, settings: ScanSettings
) -> MediaCheck | None:
    """The integrity pass of an EWF image (one read of the media), kept with the exhibit."""
    if not settings.verify_media or kind != "image" or not is_ewf(evidence):
        return None
    media = check_media(evidence)
    bad = len(media.bad_ranges)
    store.record_media_check(
        ctx,
        media.stored_md5,
        media.stored_sha1,
        media.hash_status if not bad else f"{media.hash_status}; {bad} bad",
        {
            "summary": media.summary(),
            "computed_md5": media.computed_md5,
            "computed_sha1": media.computed_sha1,
            "bad_ranges": [list(r) for r in media.bad_ranges],
        },
    )
    return media


def _spool_dir(store: CaseStore, home: Path, case: str, exhibit: str) -> Path:
    """Where this exhibit's scan spools members and shipments: beside the case store.

    One folder per exhibit (one scan of an exhibit runs at a time), emptied when a scan
    starts, so what a killed scan left behind is removed by its resume.
    """
    if store.url.startswith("sqlite:///"):
        base = Path(store.url.removeprefix("sqlite:///")).parent / "spool"
    else:
        base = home / "spool"
    key = f"{case}\0{exhibit}".encode("utf-8", "surrogateescape")
    folder = base / f"exhibit-{hashlib.sha1(key).hexdigest()[:16]}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, mode=0o700)
    return folder


def _scan_with(
    pool: Any,
    spool_dir: str | None,
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
        pool.submit(warm_up, _for_workers(settings, home), str(home))
    media = _check_media(store, ctx, evidence, kind, settings)
    if kind in KINDS:
        store.record_extraction(ctx, extraction_info(kind, evidence))
    planner = UnitPlanner(evidence, kind)
    source_errors = list_top_level(evidence, kind, settings, planner, media)
    top = planner.top
    if media is not None:
        source_errors = media.records(evidence.name) + source_errors
    progress.total_items = len(top)
    progress.total_bytes = sum(size or 0 for _p, size in top)
    done = store.done_items(ctx) if resume else {}
    summary.resumed = bool(done)
    content_ids = store.known_contents(ctx)
    store.write_batch(ctx, [], source_errors, [], content_ids)
    summary.errors += len(source_errors)
    units = []
    for unit in planner.finish():
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
            spool_dir,
        )
    except KeyboardInterrupt:
        status = "interrupted"
        store.finish_scan(ctx, status, _counts(summary))
        raise
    store.finish_scan(ctx, status, _counts(summary))
    summary.status = status
    summary.elapsed = time.monotonic() - started
    return summary


def _for_workers(settings: ScanSettings, home: Path) -> dict[str, Any]:
    """The settings as workers get them: with the library's state, so that a worker
    that kept matchers from an earlier scan builds them again if the library changed."""
    return {**settings.as_dict(), "library_state": library_state(home)}


def _counts(summary: ScanSummary) -> dict[str, int]:
    return {"items": summary.items, "errors": summary.errors, "skipped": summary.skipped}


class _Tracker:
    """Which units are finished: their own last batch and every shipment they sent.

    A unit that shared out members (``pipeline/shipping.py``) has its "container
    finished" marks held back until the last of its shipments is written, so that a
    scan stopped in between re-enters those containers on ``--resume``.
    """

    def __init__(self, store: CaseStore, ctx: ScanContext, content_ids: dict[str, int]) -> None:
        self.store, self.ctx, self.content_ids = store, ctx, content_ids
        self.running: set[int] = set()
        self.outstanding: dict[int, int] = {}
        self.held: dict[int, list[str]] = {}
        self.returned: set[int] = set()

    def shipped(self, unit: int) -> None:
        self.outstanding[unit] = self.outstanding.get(unit, 0) + 1
        self.held.setdefault(unit, [])

    def hold(self, batch: Batch) -> None:
        if batch.unit in self.held:
            self.held[batch.unit].extend(batch.expanded)
            batch.expanded = []

    def finished(self, batch: Batch) -> None:
        if batch.shipment:
            self.outstanding[batch.unit] -= 1
        else:
            self.returned.add(batch.unit)
        self.settle(batch.unit)

    def lost_shipment(self, unit: int) -> None:
        self.outstanding[unit] -= 1
        self.settle(unit)

    def settle(self, unit: int) -> None:
        if unit in self.returned and not self.outstanding.get(unit):
            marks = self.held.pop(unit, [])
            if marks:
                self.store.write_batch(self.ctx, [], [], marks, self.content_ids)
            self.running.discard(unit)


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
    spool_dir: str | None,
) -> None:
    # A few tasks per worker in flight: enough to keep workers busy, few enough that
    # results waiting to be written never hold much memory. Shipments (members shared
    # out of a large container) go first: they finish what is already open.
    limit = max(2, workers * 3)
    queue: list[WorkUnit | Shipment] = list(reversed(units))
    inflight: dict[Any, WorkUnit | Shipment] = {}
    retries = _Retries()
    tracker = _Tracker(store, ctx, content_ids)
    settings_dict = _for_workers(settings, home)

    def submit(task: WorkUnit | Shipment) -> Any:
        if isinstance(task, Shipment):
            return pool.submit(run_shipment, task, settings_dict, str(home))
        tracker.running.add(task.number)
        return pool.submit(run_unit, task, settings_dict, str(home), spool_dir, workers)

    def handle(message: Batch | Shipment) -> None:
        if isinstance(message, Shipment):
            summary.shipped += len(message.entries)
            tracker.shipped(message.unit)
            queue.append(message)
            return
        tracker.hold(message)
        _write(message, ctx, store, content_ids, summary, progress)
        if message.final:
            tracker.finished(message)
        if on_progress:
            on_progress(progress)

    while queue or inflight or retries.suspects or tracker.running:
        if retries.suspects:
            # Run again one at a time: a task that kills its worker again is the culprit.
            if not inflight:
                task = retries.suspects.pop()
                inflight[submit(task)] = task
                retries.alone = task
        else:
            while queue and len(inflight) < limit:
                task = queue.pop()
                inflight[submit(task)] = task
        _drain(pool.channel, handle, wait=0.05 if inflight or tracker.running else 0)
        for future in pool.completed(set(inflight), timeout=0 if pool.channel else None):
            task = inflight.pop(future)
            try:
                batches = future.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker is a record, not the end
                pool.failed(future)
                if not retries.again(task, pool):
                    _lost(task, exc, tracker, store, ctx, summary, progress)
                continue
            pool.forget(future)
            for batch in batches:
                handle(batch)
        if not inflight and tracker.running and pool.channel is not None:
            # Every task returned: their last batches are on their way through the channel.
            _drain(pool.channel, handle, wait=1.0)


class _Retries:
    """Tasks whose worker died (killed, out of memory): each is run again, alone.

    When a worker process dies, every task in flight on the pool fails with it, the
    guilty and the innocent alike. So the failed tasks are run again one at a time; a
    task that fails alone ``RETRIES + 1`` times is recorded as lost.
    """

    def __init__(self) -> None:
        self.suspects: list[WorkUnit | Shipment] = []
        self.alone: WorkUnit | Shipment | None = None
        self.failures: dict[int, int] = {}

    def again(self, task: WorkUnit | Shipment, pool: Any) -> bool:
        """Whether ``task`` is to be run again (else it is recorded as lost)."""
        if task is self.alone:
            self.alone = None
            self.failures[id(task)] = self.failures.get(id(task), 0) + 1
            if self.failures[id(task)] > RETRIES:
                return False
        if not pool.can_restart:
            return False  # Dask re-runs a lost worker's tasks itself
        self.suspects.append(task)
        return True


def _drain(channel: Any, handle: Callable[[Any], None], wait: float) -> None:
    """Handle every message waiting on the channel (waiting up to ``wait`` s for the first)."""
    if channel is None:
        return
    timeout: float | None = wait
    while True:
        try:
            message = channel.get(timeout=timeout) if timeout else channel.get_nowait()
        except queue_module.Empty:
            return
        handle(message)
        timeout = 0


def _lost(
    task: WorkUnit | Shipment,
    exc: BaseException,
    tracker: _Tracker,
    store: CaseStore,
    ctx: ScanContext,
    summary: ScanSummary,
    progress: Progress,
) -> None:
    """Record a task lost for good: a record for each of its items."""
    if isinstance(task, Shipment):
        paths = [item.path for item, _d, _o, _n in task.entries]
        remove_shipment(task)
    else:
        paths = list(task.paths)
    errors = [
        ScanError(
            path,
            "worker",
            f"its worker process died each time it was run ({RETRIES + 1} times, the last "
            f"alone): {type(exc).__name__}; not analysed",
        )
        for path in paths
    ]
    store.write_batch(ctx, [], errors, [], {})
    summary.errors += len(errors)
    progress.errors += len(errors)
    if isinstance(task, Shipment):
        tracker.lost_shipment(task.unit)
    else:
        tracker.returned.add(task.number)
        tracker.settle(task.number)


def _write_each(
    batch: Batch, ctx: ScanContext, store: CaseStore, content_ids: dict[str, int]
) -> list[ScanError]:
    """Write a batch that failed as a whole row by row; a row that fails becomes a record."""
    failed: list[ScanError] = []
    for record in batch.records:
        try:
            store.write_batch(ctx, [record], [], [], content_ids)
        except BatchRejected as exc:
            failed.append(
                ScanError(
                    escape_name(record.item.path),
                    "store",
                    f"item could not be recorded: {type(exc).__name__}: {visible(str(exc))}",
                )
            )
    for error in batch.errors + failed:
        try:
            store.write_batch(ctx, [], [error], [], content_ids)
        except BatchRejected:
            printable = ScanError(
                escape_name(error.location), error.stage, visible(error.reason)
            )
            store.write_batch(ctx, [], [printable], [], content_ids)
    store.write_batch(ctx, [], [], batch.expanded, content_ids)
    return batch.errors + failed


def _write(
    batch: Batch,
    ctx: ScanContext,
    store: CaseStore,
    content_ids: dict[str, int],
    summary: ScanSummary,
    progress: Progress,
) -> None:
    new = [r for r in batch.records if r.hashes is not None and r.hashes.sha256 not in content_ids]
    try:
        store.write_batch(ctx, batch.records, batch.errors, batch.expanded, content_ids)
    except BatchRejected:
        # The store refused some value of the batch (any other StoreError, disk full or
        # a locked or damaged store, ends the scan): one bad row must not lose the rest.
        batch.errors = _write_each(batch, ctx, store, content_ids)
    if batch.final and not batch.shipment:
        summary.units += 1
    summary.items += len(batch.records)
    summary.new_contents += len({r.hashes.sha256 for r in new if r.hashes})
    summary.matches += sum(len(r.matches) for r in new)
    summary.errors += len(batch.errors)
    summary.bytes += batch.bytes
    for r in batch.records:
        if r.hashes is not None:
            summary.media[r.hashes.media] = summary.media.get(r.hashes.media, 0) + 1
    progress.items += len(batch.records)
    progress.bytes += batch.top_bytes
    progress.errors += len(batch.errors)
