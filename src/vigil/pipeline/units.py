"""Work units: a range of top-level evidence items, processed anywhere, returned as data.

The coordinator (``pipeline/scan.py``) walks the evidence once to list its top-level
items, cuts the list into units and hands them to an executor: threads, local
processes or a Dask cluster all run the same ``run_unit``. A worker re-opens the
evidence by path (shared storage for a cluster), analyses each item of its unit and
everything inside it (archive members, embedded pictures) and returns plain records.
It never writes to the store: the coordinator writes each unit's result in one
transaction, so a unit is either wholly recorded or not at all.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from vigil.model import Item, ScanError
from vigil.pipeline.analyse import Analyser, Analysis, Matcher
from vigil.sources import SourceOptions, open_evidence
from vigil.sources.expand import Expander, Limits, expander_for
from vigil.sources.folder import item_for_file
from vigil.sources.sniff import HEAD_SIZE, sniff
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


@dataclass
class UnitResult:
    """What a worker found in one unit (picklable: items carry no opener)."""

    number: int
    records: list[ItemRecord] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)
    expanded: list[str] = field(default_factory=list)
    bytes: int = 0
    # Bytes of the unit's top-level items, for progress against the listed total.
    top_bytes: int = 0


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


def _no_bytes() -> BinaryIO:
    raise OSError("item bytes are not carried across processes")


def _plain(value: datetime | None) -> datetime | None:
    # Backends return datetime subclasses (rarfile's nsdatetime) that do not unpickle.
    if value is None or type(value) is datetime:
        return value
    return datetime(
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
        tzinfo=value.tzinfo,
    )


def detach(item: Item) -> Item:
    """A copy of ``item`` without its opener and with plain datetimes, safe to pickle."""
    return replace(
        item,
        open=_no_bytes,
        created=_plain(item.created),
        modified=_plain(item.modified),
        accessed=_plain(item.accessed),
        changed=_plain(item.changed),
    )


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
                Limits(max_depth=s.max_depth),
                SourceOptions(vss=s.vss, carve=s.carve),
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
    with worker.lock:
        cursor = worker.cursors.get(unit.evidence)
        if cursor is None:
            # One image at a time per worker: a long-lived cluster worker must not keep
            # every image it ever scanned open.
            worker.cursors.clear()
            cursor = worker.cursors[unit.evidence] = _Cursor(Path(unit.evidence), worker.options)
        return cursor.take(unit.start, unit.stop)


def run_unit(unit: WorkUnit, settings: dict, home: str) -> UnitResult:
    """Analyse every item of ``unit`` and everything inside them; see the module docstring."""
    worker = _worker(home, settings)
    matchers, analysers = worker.analysis_parts
    claimed: set[str] = set()

    def claim(sha256: str) -> bool:
        if sha256 in claimed:
            return False
        claimed.add(sha256)
        return True

    analysis = Analysis(matchers, analysers, claim)
    result = UnitResult(unit.number)
    items = _unit_items(worker, unit)
    found = tuple(i.path for i in items)
    if found != unit.paths:
        result.errors.append(
            ScanError(
                unit.paths[0] if unit.paths else unit.evidence,
                "source",
                f"evidence changed since it was listed: expected {len(unit.paths)} items "
                f"from {unit.paths[:1]}, found {len(found)} from {found[:1]}",
            )
        )
        return result
    for item in items:
        result.top_bytes += item.size or 0
        _process(item, unit, analysis, worker.limits, result, frozenset())
    return result


def _process(
    item: Item,
    unit: WorkUnit,
    analysis: Analysis,
    limits: Limits,
    result: UnitResult,
    enclosing: frozenset[str],
) -> None:
    if item.path in unit.reenter:
        # Recorded before an interruption, but not all its members were.
        expander = _expander_of(item)
        if expander is not None:
            _expand(item, expander, None, unit, analysis, limits, result, enclosing)
        return
    if item.path in unit.done:
        return
    outcome = analysis(item)
    result.errors.extend(outcome.errors)
    expander = None
    if outcome.kind is not None and outcome.hashes is not None:
        result.bytes += outcome.hashes.size
        expander = expander_for(outcome.kind.mime)
        if expander is not None and outcome.hashes.sha256 in enclosing:
            result.errors.append(
                ScanError(item.path, "expand", "recursion: same content as an enclosing container")
            )
            expander = None
    result.records.append(
        ItemRecord(detach(item), outcome.hashes, outcome.matches, container=expander is not None)
    )
    if expander is not None:
        sha = outcome.hashes.sha256 if outcome.hashes else None
        _expand(item, expander, sha, unit, analysis, limits, result, enclosing)


def _expand(
    item: Item,
    expander: Expander,
    sha: str | None,
    unit: WorkUnit,
    analysis: Analysis,
    limits: Limits,
    result: UnitResult,
    enclosing: frozenset[str],
) -> None:
    inner = enclosing | {sha} if sha else enclosing
    for child in expander(item, limits):
        if isinstance(child, ScanError):
            result.errors.append(child)
        else:
            _process(child, unit, analysis, limits, result, inner)
    result.expanded.append(item.path)


def _expander_of(item: Item) -> Expander | None:
    try:
        with item.open() as stream:
            head = stream.read(HEAD_SIZE)
    except OSError:
        return None
    return expander_for(sniff(head).mime)
