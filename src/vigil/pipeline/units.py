"""Work units: a range of top-level evidence items, processed anywhere, returned as data.

The coordinator (``pipeline/scan.py``) walks the evidence once to list its top-level
items, cuts the list into units and hands them to an executor: threads, local
processes or a Dask cluster all run the same ``run_unit``. A worker re-opens the
evidence by path (shared storage for a cluster): a folder's items by their paths, a
forensic image's from the listed items the unit carries, each opened again from its
``Locator`` (``sources/image_read.py``), so no worker walks a file system or carves
again. It walks each item of its unit and
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
import pickle
import sys
import threading
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from vigil.model import Item, ScanError
from vigil.pipeline.analyse import Analyser, Analysis, ItemTimeout, Matcher
from vigil.pipeline.batches import Batch, BatchWriter
from vigil.pipeline.records import detach
from vigil.pipeline.shipping import Shipment, Shipper, read_entries, remove
from vigil.pipeline.walk import Walk, cpu_budget, timeout_error, walk_item
from vigil.sources import SourceOptions
from vigil.sources.expand import Limits
from vigil.sources.extraction import KINDS, items_for_unit
from vigil.sources.folder import item_for_file
from vigil.sources.image_read import Reader, open_image, reattach
from vigil.sources.spool import BACKEND_LOCK
from vigil.store.api import ItemRecord

UNIT_ITEMS = 64
UNIT_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class WorkUnit:
    """Top-level items ``start..stop`` (positions among the source's items).

    ``paths`` are their provenance paths, so a worker can check it reached the same
    items. ``listing`` is, for a forensic image, the listed items themselves without
    their openers, packed (``unpack_listing``). ``done`` are paths already recorded
    (resume): complete ones are skipped, containers in ``reenter`` are expanded again
    for their missing members.
    """

    number: int
    evidence: str
    kind: str
    start: int
    stop: int
    paths: tuple[str, ...]
    done: frozenset[str] = frozenset()
    reenter: frozenset[str] = frozenset()
    listing: bytes = b""


class UnitPlanner:
    """Cuts the top-level items, as they are listed, into units of bounded count and bytes.

    An image's items travel with their unit, detached from their openers and packed
    (pickled and deflated: tens of bytes an item where the objects take near 900), so
    the coordinator holds the listing of a multi-million-file image in little memory.
    """

    def __init__(self, evidence: Path, kind: str) -> None:
        self.evidence, self.kind = str(evidence), kind
        self.top: list[tuple[str, int | None]] = []
        self.units: list[WorkUnit] = []
        self._pending: list[Item] = []
        self._start = 0
        self._bytes = 0

    def add(self, path: str, size: int | None, item: Item | None = None) -> None:
        """The next top-level item; ``item`` (an image's) travels with its unit."""
        self.top.append((path, size))
        if item is not None:
            self._pending.append(detach(item))
        self._bytes += size or 0
        if len(self.top) - self._start >= UNIT_ITEMS or self._bytes >= UNIT_BYTES:
            self._close()

    def finish(self) -> list[WorkUnit]:
        """Every unit, the last one closed."""
        self._close()
        return self.units

    def _close(self) -> None:
        stop = len(self.top)
        if stop == self._start:
            return
        listing = zlib.compress(pickle.dumps(tuple(self._pending), 5), 1) if self._pending else b""
        self.units.append(
            WorkUnit(
                len(self.units), self.evidence, self.kind, self._start, stop,
                tuple(p for p, _ in self.top[self._start : stop]), listing=listing,
            )
        )
        self._pending, self._start, self._bytes = [], stop, 0


def unpack_listing(unit: WorkUnit) -> list[Item]:
    """The detached items a unit of an image carries."""
    return list(pickle.loads(zlib.decompress(unit.listing))) if unit.listing else []


def plan_units(
    evidence: Path, kind: str, items: list[tuple[str, int | None]], listed: Sequence[Item] = ()
) -> list[WorkUnit]:
    """Cut the top-level ``(path, size)`` list into units of bounded count and bytes.

    ``listed`` are the items of an image, in the same order, carried by units.
    """
    planner = UnitPlanner(evidence, kind)
    for i, (path, size) in enumerate(items):
        planner.add(path, size, listed[i] if listed else None)
    return planner.finish()


@dataclass
class _Worker:
    """Per-process state: the configured analysis and the image open for reading."""

    analysis_parts: tuple[list[Matcher], dict[str, Analyser]]
    limits: Limits
    options: SourceOptions
    readers: dict[str, Reader] = field(default_factory=dict)
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

    # ``settings`` holds the hash-set library's state as the scan found it when it
    # started (``library_state``): a long-lived worker (Dask, or a process forked from
    # one that scanned before) sees the sets imported or graded since, and every unit of
    # one scan matches against the same library.
    key = (home, repr(sorted(settings.items())))
    with _WORKERS_LOCK:
        if key not in _WORKERS:
            for old in [k for k in _WORKERS if k[0] == home]:
                del _WORKERS[old]  # one configuration per home: banks are large
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
        reader = worker.readers.get(unit.evidence)
        if reader is None:
            # One image at a time per worker: a long-lived cluster worker must not keep
            # every image it ever scanned open.
            worker.readers.clear()
            with BACKEND_LOCK:
                reader, _notes = open_image(Path(unit.evidence), worker.options.vss)
            worker.readers[unit.evidence] = reader
    return [reattach(reader, item) for item in unpack_listing(unit)]


# Where a worker sends its batches: set by the executor in each local worker process
# (or in the scan's process for threads); on a Dask worker, per task thread (several
# scans may share one worker process), by ``tcp_channel.run_sending``.
_CHANNEL: Callable[[Batch], None] | None = None
_TASK = threading.local()


def set_channel(send: Callable[[Batch], None] | None) -> None:
    """Make ``send`` the destination of the batches of units run in this process."""
    global _CHANNEL
    _CHANNEL = send


def set_task_channel(send: Callable[[Batch], None] | None) -> None:
    """Make ``send`` the destination of the batches of the task run by this thread."""
    _TASK.send = send


def _channel() -> Callable[[Batch], None] | None:
    return getattr(_TASK, "send", None) or _CHANNEL


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
    channel = _channel()
    out = BatchWriter(unit.number, channel or kept.append)
    walk = Walk(_analysis(worker), worker.limits, out, unit.done, unit.reenter)
    walk.spool_dir = spool_dir if spool_dir and os.path.isdir(spool_dir) else None
    if channel is not None and walk.spool_dir and workers > 1:
        walk.ship = Shipper(unit.number, channel, walk.spool_dir, workers)
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
    out = BatchWriter(shipment.unit, _channel() or (lambda _batch: None), shipment=True)
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
