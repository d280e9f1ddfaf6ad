"""The scan loop: source -> analyse (thread pool) -> case store, with exact resume.

Items are analysed by a bounded pool of worker threads and written by this thread
in the order they were submitted, in batches that each commit atomically. An item
row is written only once its content, hashes and matches are; a container's row is
marked ``expanded`` only once every descendant is written. So after a crash,
``--resume`` skips exactly the items already in the store and re-enters the
containers that were not finished, and nothing is missed or counted twice.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vigil.model import Item, ScanError
from vigil.pipeline.analyse import Analyser, Analysis, Matcher, Outcome
from vigil.sources import SourceOptions, open_evidence
from vigil.sources.expand import Limits, expander_for
from vigil.store.api import CaseStore, ItemRecord, ScanContext

BATCH_ITEMS = 500
BATCH_SECONDS = 1.0


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
    resumed: bool = False
    elapsed: float = 0.0
    status: str = "complete"
    media: dict[str, int] = field(default_factory=dict)


@dataclass
class _Frame:
    """One generator on the expansion stack: the source itself or a container."""

    items: Iterator[Item | ScanError]
    container: str | None
    pending: int = 0
    exhausted: bool = False
    parent: _Frame | None = None
    sha256: str | None = None

    def encloses(self, sha256: str) -> bool:
        """Whether this container or one around it has the content ``sha256``."""
        frame: _Frame | None = self
        while frame is not None:
            if frame.sha256 == sha256:
                return True
            frame = frame.parent
        return False


class _Writer:
    """Batches finished records and commits them in order."""

    def __init__(self, store: CaseStore, ctx: ScanContext, content_ids: dict[str, int]) -> None:
        self.store = store
        self.ctx = ctx
        self.content_ids = content_ids
        self.records: list[ItemRecord] = []
        self.errors: list[ScanError] = []
        self.expanded: list[str] = []
        # Records whose content is being analysed by another item still in flight.
        self.waiting: dict[str, list[ItemRecord]] = {}
        # Contents whose analysing record has been added (written now or soon).
        self.arrived: set[str] = set()
        self.last_flush = time.monotonic()

    def add(self, rec: ItemRecord, new_content: bool) -> None:
        sha = rec.hashes.sha256 if rec.hashes else None
        if sha is None or new_content or sha in self.content_ids or sha in self.arrived:
            self.records.append(rec)
            if sha is not None and new_content:
                self.arrived.add(sha)
                self.records.extend(self.waiting.pop(sha, []))
        else:
            self.waiting.setdefault(sha, []).append(rec)

    def due(self) -> bool:
        return (
            len(self.records) + len(self.errors) >= BATCH_ITEMS
            or time.monotonic() - self.last_flush >= BATCH_SECONDS
        )

    def flush(self) -> None:
        # A record still waiting for its content blocks the containers above it, so
        # `expanded` marks are only written once nothing is waiting.
        expanded = self.expanded if not self.waiting else []
        if self.records or self.errors or expanded:
            self.store.write_batch(self.ctx, self.records, self.errors, expanded, self.content_ids)
        self.records, self.errors = [], []
        self.arrived.clear()
        if expanded:
            self.expanded = []
        self.last_flush = time.monotonic()


def run_scan(
    store: CaseStore,
    case: str,
    exhibit: str,
    evidence: Path,
    settings: ScanSettings,
    matchers: list[Matcher],
    analysers: dict[str, Analyser] | None = None,
    hashset_records: list[dict[str, object]] | None = None,
    resume: bool = False,
    workers: int = 2,
    progress: Progress | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> ScanSummary:
    """Scan ``evidence`` into ``store`` as exhibit ``exhibit`` of ``case``.

    Args:
        store: the case store to write to.
        case: case name.
        exhibit: exhibit id within the case.
        evidence: a folder or a forensic image.
        settings: what decides the result (recorded with the scan).
        matchers: functions turning hashes into matches.
        analysers: perceptual analysers by media kind.
        hashset_records: descriptions of the hash sets used, for the report header.
        resume: finish an interrupted scan of the same exhibit.
        workers: analysis threads.
        progress: counters to update (created if None).
        on_progress: called from this thread after each finished item.

    Returns:
        A summary of this run.
    """
    evidence = Path(evidence).resolve()
    started = time.monotonic()
    kind = "folder" if evidence.is_dir() else "image"
    ctx = store.begin_scan(
        case, exhibit, evidence, kind, settings.as_dict(), hashset_records or [], resume
    )
    done = store.done_items(ctx) if resume else {}
    content_ids = store.known_contents(ctx)
    claimed = set(content_ids)
    claim_lock = threading.Lock()

    def claim(sha256: str) -> bool:
        with claim_lock:
            if sha256 in claimed:
                return False
            claimed.add(sha256)
            return True

    analysis = Analysis(matchers, analysers or {}, claim)
    limits = Limits(max_depth=settings.max_depth)
    progress = progress or Progress()
    summary = ScanSummary(case, exhibit, store.url, ctx.scan_id, resumed=bool(done))
    writer = _Writer(store, ctx, content_ids)
    source = open_evidence(evidence, SourceOptions(vss=settings.vss, carve=settings.carve))
    stack: list[_Frame] = [_Frame(source, None)]
    inflight: deque[tuple[Future[Outcome], _Frame]] = deque()
    max_inflight = max(4, workers * 4)

    def frame_done(frame: _Frame) -> None:
        # Called when a frame's generator is exhausted and all its items are written.
        while frame.container is not None and frame.exhausted and frame.pending == 0:
            writer.expanded.append(frame.container)
            parent = frame.parent
            if parent is None:
                break
            parent.pending -= 1
            frame = parent

    def finish(outcome: Outcome, frame: _Frame) -> None:
        item = outcome.item
        summary.items += 1
        progress.items += 1
        if outcome.hashes is not None:
            progress.bytes += outcome.hashes.size
            summary.bytes += outcome.hashes.size
            media = outcome.hashes.media
            summary.media[media] = summary.media.get(media, 0) + 1
        summary.new_contents += int(outcome.new_content)
        summary.matches += len(outcome.matches)
        summary.errors += len(outcome.errors)
        progress.errors += len(outcome.errors)
        writer.errors.extend(outcome.errors)
        expander = None
        if outcome.kind is not None and outcome.hashes is not None:
            expander = expander_for(outcome.kind.mime)
            if expander is not None and frame.encloses(outcome.hashes.sha256):
                # A container holding itself (directly or further down) ends here.
                writer.errors.append(
                    ScanError(
                        item.path, "expand", "recursion: same content as an enclosing container"
                    )
                )
                summary.errors += 1
                expander = None
        rec = ItemRecord(item, outcome.hashes, outcome.matches, container=expander is not None)
        writer.add(rec, outcome.new_content)
        if expander is not None:
            _push_container(stack, frame, item, expander(item, limits), outcome.hashes.sha256)
        else:
            frame.pending -= 1
            if frame.exhausted:
                frame_done(frame)
        if on_progress:
            on_progress(progress)

    def drain(until: int) -> None:
        while len(inflight) > until:
            future, frame = inflight.popleft()
            finish(future.result(), frame)
            if writer.due():
                writer.flush()

    status = "complete"
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vigil-analyse") as pool:
            while stack:
                frame = stack[-1]
                nxt = next(frame.items, None)
                if nxt is None:
                    stack.pop()
                    frame.exhausted = True
                    # A container whose children are still in flight counts as an
                    # item of its parent until they are all written.
                    if frame.container is not None and frame.pending == 0:
                        frame_done(frame)
                    continue
                if isinstance(nxt, ScanError):
                    writer.errors.append(nxt)
                    summary.errors += 1
                    progress.errors += 1
                    continue
                state = done.get(nxt.path, "absent")
                if state != "absent":
                    summary.skipped += 1
                    progress.skipped += 1
                    if state is False:
                        # A container whose children were not all written: re-enter it.
                        drain(0)
                        exp = _expander_for_item(nxt)
                        if exp is not None:
                            frame.pending += 1
                            _push_container(stack, frame, nxt, exp(nxt, limits))
                    continue
                frame.pending += 1
                inflight.append((pool.submit(analysis, nxt), frame))
                if len(inflight) >= max_inflight:
                    drain(max_inflight // 2)
            drain(0)
        writer.flush()
        if writer.waiting:
            raise RuntimeError("records left waiting for a content that never arrived")
    except KeyboardInterrupt:
        status = "interrupted"
        writer.flush()
        store.finish_scan(ctx, status)
        raise
    store.finish_scan(
        ctx, status, {"items": summary.items, "errors": summary.errors, "skipped": summary.skipped}
    )
    summary.status = status
    summary.elapsed = time.monotonic() - started
    summary.skipped = progress.skipped
    return summary


def _push_container(
    stack: list[_Frame],
    frame: _Frame,
    item: Item,
    children: Iterator[Item | ScanError],
    sha256: str | None = None,
) -> None:
    stack.append(_Frame(children, item.path, parent=frame, sha256=sha256))


def _expander_for_item(item: Item) -> Callable | None:
    """Re-identify a recorded container on resume (reads only its first bytes)."""
    from vigil.sources.sniff import HEAD_SIZE, sniff

    try:
        with item.open() as stream:
            head = stream.read(HEAD_SIZE)
    except OSError:
        return None
    return expander_for(sniff(head).mime)
