"""Work units: a range of top-level evidence items, processed anywhere, returned as data.

The coordinator (``pipeline/scan.py``) walks the evidence once to list its top-level
items, cuts the list into units and hands them to an executor: threads, local
processes or a Dask cluster all run the same ``run_unit``. A worker re-opens the
evidence by path (shared storage for a cluster), walks each item of its unit and
everything inside it (``pipeline/walk.py``) and sends plain records back in batches as
they are made (``pipeline/batches.py``), through the executor's channel when it has
one (local threads and processes), else as the unit's return value (Dask). It never
writes to the store: the coordinator writes each batch in one transaction.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import io
import os
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from vigil.model import Item, ScanError
from vigil.pipeline.analyse import Analyser, Analysis, ItemTimeout, Matcher
from vigil.pipeline.batches import Batch, BatchWriter
from vigil.pipeline.shipping import Shipment, Shipper, read_entries, remove
from vigil.pipeline.walk import Walk, cpu_budget, timeout_error, walk_item
from vigil.sources import SourceOptions, open_evidence
from vigil.sources.expand import Limits
from vigil.sources.extraction import KINDS, items_for_unit
from vigil.sources.folder import item_for_file
from vigil.store.api import ItemRecord

UNIT_ITEMS = 64
UNIT_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class WorkUnit:
    """Top-level items ``start..stop`` (positions among the source's items).

    ``paths`` are their provenance paths, so a worker can check it reached the same
    items. ``done`` are paths already recorded (resume): complete ones are skipped,
    containers in ``reenter`` are expanded again for their missing members.
    """

    number: int
    evidence: str
    kind: str
    start: int
    stop: int
    paths: tuple[str, ...]
    done: frozenset[str] = frozenset()
    reenter: frozenset[str] = frozenset()


def plan_units(evidence: Path, kind: str, items: list[tuple[str, int | None]]) -> list[WorkUnit]:
    """Cut the top-level ``(path, size)`` list into units of bounded count and bytes."""
    units: list[WorkUnit] = []
    start, size = 0, 0
    for i, (_path, item_size) in enumerate(items):
        size += item_size or 0
        if i + 1 - start >= UNIT_ITEMS or size >= UNIT_BYTES or i + 1 == len(items):
            units.append(
                WorkUnit(
                    len(units),
                    str(evidence),
                    kind,
                    start,
                    i + 1,
                    tuple(p for p, _ in items[start : i + 1]),
                )
            )
            start, size = i + 1, 0
    return units


class _Cursor:
    """A forward position in one image's item stream, reused by consecutive units."""

    def __init__(self, evidence: Path, options: SourceOptions) -> None:
        self.evidence = evidence
        self.options = options
        self._restart()

    def _restart(self) -> None:
        self.items: Iterator[Item | ScanError] = open_evidence(self.evidence, self.options, "image")
        self.position = 0

    def take(self, start: int, stop: int) -> list[Item]:
        if start < self.position:
            self._restart()
        found: list[Item] = []
        for entry in self.items:
            if not isinstance(entry, Item):
                continue
            if self.position >= start:
                found.append(entry)
            self.position += 1
            if self.position >= stop:
                break
        return found


@dataclass
class _Worker:
    """Per-process state: the configured analysis and open evidence cursors."""

    analysis_parts: tuple[list[Matcher], dict[str, Analyser]]
    limits: Limits
    options: SourceOptions
    cursors: dict[str, _Cursor] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_WORKERS: dict[tuple[str, str], _Worker] = {}
_WORKERS_LOCK = threading.Lock()


def _heap_for_large_arrays() -> None:
    # Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which also pins
    # glibc's mmap threshold at 128 KiB: every decoded picture and numpy temporary is
    # then mmapped and unmapped again (page faults on every allocation; the same units
    # cost half as much CPU again as in a plain process). Let those come from the heap.
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ or not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.mallopt(-3, 64 * 1024 * 1024)  # M_MMAP_THRESHOLD
    libc.mallopt(-1, 128 * 1024 * 1024)  # M_TRIM_THRESHOLD


def _worker(home: str, settings: dict) -> _Worker:
    from vigil.pipeline.scan import ScanSettings
    from vigil.pipeline.setup import build_matchers

    key = (home, repr(sorted(settings.items())))
    with _WORKERS_LOCK:
        if key not in _WORKERS:
            _heap_for_large_arrays()
            s = ScanSettings.from_dict(settings)
            _WORKERS[key] = _Worker(
                build_matchers(Path(home), s),
                s.limits(),
                SourceOptions(vss=s.vss, carve=s.carve, password_file=s.password_file),
            )
        return _WORKERS[key]


def dask_setup(worker: object) -> None:
    """Dask preload hook (``dask worker --preload vigil.pipeline.units``).

    Imports the analysis libraries (decoders, PDQ, video, matchers) when the worker
    starts rather than on its first unit, and fixes its allocator (see
    ``_heap_for_large_arrays``).
    """
    import vigil.pipeline.setup  # noqa: F401

    _heap_for_large_arrays()


def warm_up(settings: dict, home: str) -> None:
    """Prepare this worker process for units of a scan with ``settings`` (imports, matchers)."""
    _worker(home, settings)


def _unit_items(worker: _Worker, unit: WorkUnit) -> list[Item]:
    if unit.kind == "folder":
        return [item_for_file(Path(unit.evidence), p) for p in unit.paths]
    if unit.kind == "file":
        evidence = Path(unit.evidence)
        return [item_for_file(evidence.parent, evidence.name)]
    if unit.kind in KINDS:
        return items_for_unit(
            unit.kind, Path(unit.evidence), unit.paths, worker.options.password_file
        )
    with worker.lock:
        cursor = worker.cursors.get(unit.evidence)
        if cursor is None:
            # One image at a time per worker: a long-lived cluster worker must not keep
            # every image it ever scanned open.
            worker.cursors.clear()
            cursor = worker.cursors[unit.evidence] = _Cursor(Path(unit.evidence), worker.options)
        return cursor.take(unit.start, unit.stop)


# Where a worker sends its batches: set by the executor in each local worker process
# (or in the scan's process for threads); None on a Dask worker.
_CHANNEL: Callable[[Batch], None] | None = None


def set_channel(send: Callable[[Batch], None] | None) -> None:
    """Make ``send`` the destination of the batches of units run in this process."""
    global _CHANNEL
    _CHANNEL = send


def _analysis(worker: _Worker) -> Analysis:
    """The configured analysis, with perceptual work claimed once per content per task."""
    matchers, analysers = worker.analysis_parts
    claimed: set[str] = set()

    def claim(sha256: str) -> bool:
        if sha256 in claimed:
            return False
        claimed.add(sha256)
        return True

    return Analysis(matchers, analysers, claim)


def run_unit(
    unit: WorkUnit, settings: dict, home: str, spool_dir: str | None, workers: int = 1
) -> list[Batch]:
    """Walk every item of ``unit``; see the module docstring.

    With a channel and more than one worker, pictures of large containers are shared
    out to the other workers (``pipeline/shipping.py``).

    Returns:
        The unit's batches when there is no channel, else an empty list (the last batch
        sent, marked ``final``, tells the coordinator the unit is finished).
    """
    worker = _worker(home, settings)
    kept: list[Batch] = []
    out = BatchWriter(unit.number, _CHANNEL or kept.append)
    walk = Walk(_analysis(worker), worker.limits, out, unit.done, unit.reenter)
    walk.spool_dir = spool_dir if spool_dir and os.path.isdir(spool_dir) else None
    if _CHANNEL is not None and walk.spool_dir and workers > 1:
        walk.ship = Shipper(unit.number, _CHANNEL, walk.spool_dir, workers)
    items = _unit_items(worker, unit)
    found = tuple(i.path for i in items)
    if found != unit.paths:
        out.error(
            ScanError(
                unit.paths[0] if unit.paths else unit.evidence,
                "source",
                f"evidence changed since it was listed: expected {len(unit.paths)} items "
                f"from {unit.paths[:1]}, found {len(found)} from {found[:1]}",
            )
        )
    else:
        try:
            for item in items:
                out.count_top_bytes(item.size or 0)
                walk_item(item, walk)
        finally:
            if walk.ship is not None:
                walk.ship.discard()
    out.flush(final=True)
    return kept


def run_shipment(shipment: Shipment, settings: dict, home: str) -> list[Batch]:
    """Analyse members another worker streamed out of a container (see ``shipping.py``).

    Returns:
        Nothing: the batches go through the channel (shipments exist only where there
        is one); the last one is marked ``final`` and names the shipment's unit.
    """
    worker = _worker(home, settings)
    analysis = _analysis(worker)
    out = BatchWriter(shipment.unit, _CHANNEL or (lambda _batch: None), shipment=True)
    for item, digests, data in read_entries(shipment):
        member = replace(item, open=lambda data=data: io.BytesIO(data))
        with cpu_budget(worker.limits.max_item_seconds):
            try:
                outcome = analysis.finish(member, digests)
            except ItemTimeout:
                out.error(timeout_error(item.path, worker.limits))
                out.record(ItemRecord(item, None, [], container=False))
                continue
        out.errors(outcome.errors)
        out.record(ItemRecord(item, outcome.hashes, outcome.matches, container=False))
    out.flush(final=True)
    remove(shipment)
    return []
