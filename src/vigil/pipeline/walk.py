"""The walk of one top-level item: every content read once, containers streamed in order.

For a top-level item (a file of the evidence) the bytes are read through its opener.
For a container member they come out of the container's walk, once: the first block
is sniffed, and if the member is a picture, a video or a container itself its bytes
are spooled while they are digested (``sources/spool.py``), so that decoding or
walking it reads the spool, never the enclosing containers again. Everything else is
digested and forgotten. The member is finished (hashed, matched, walked) before the
container's walk moves to the next member.

Budgets (``sources/expand/budget.py``) are the top-level item's, counted across every
level. A container content already walked under the same top-level item is not walked
again (a bomb of ten identical copies per level is ten members per level, not ten to
the power of the depth); a record names where its members are.

Results leave as they are made through ``out`` (a ``BatchWriter``), so memory does not
grow with the number of members.
"""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass, replace
from typing import BinaryIO

from vigil.hashing.crypto import HEAD_SIZE, digest_stream
from vigil.model import Item, ScanError
from vigil.pipeline.analyse import Analysis, ItemTimeout, read_error
from vigil.pipeline.batches import BatchWriter
from vigil.pipeline.records import detach
from vigil.pipeline.shipping import Shipper
from vigil.sources.expand import Expander, Member, child_item, expander_for
from vigil.sources.expand.budget import Budget, BudgetExceeded, Limits, Metered
from vigil.sources.expand.firefox_cache import kind_of
from vigil.sources.sniff import Kind, sniff
from vigil.sources.spool import Spool
from vigil.store.api import ItemRecord


@dataclass
class Walk:
    """What a walk needs: the analysis, the budgets, where results go, what is done."""

    analysis: Analysis
    limits: Limits
    out: BatchWriter
    done: frozenset[str] = frozenset()
    reenter: frozenset[str] = frozenset()
    spool_dir: str | None = None
    ship: Shipper | None = None


def walk_item(item: Item, walk: Walk) -> None:
    """Analyse ``item`` and everything inside it; results go to ``walk.out``."""
    budget = Budget(item.path, walk.limits, size=item.size)
    with _Timer(walk.limits.max_item_seconds) as timer:
        try:
            _top(item, walk, budget, timer)
        except BudgetExceeded:
            pass
        except ItemTimeout:
            walk.out.error(timeout_error(item.path, walk.limits))
        except Exception as exc:  # noqa: BLE001 - one item's failure is its record
            walk.out.error(_failure(item.path, exc))
    if budget.exceeded is not None:
        walk.out.error(budget.exceeded)


def _top(item: Item, walk: Walk, budget: Budget, timer: _Timer) -> None:
    if item.path in walk.reenter:
        # Recorded before an interruption, but not all its members were.
        expander = _expander_of(item, walk.limits)
        if expander is not None:
            with item.open() as stream:
                _expand(item, stream, expander, walk, budget, timer, frozenset())
        return
    if item.path in walk.done:
        return
    outcome = walk.analysis(item)
    walk.out.errors(outcome.errors)
    expander = None
    if outcome.kind is not None and outcome.hashes is not None:
        walk.out.count_bytes(outcome.hashes.size)
        expander = expander_for(outcome.kind.mime, walk.limits)
    walk.out.record(
        ItemRecord(detach(item), outcome.hashes, outcome.matches, container=expander is not None)
    )
    if expander is not None and outcome.hashes is not None:
        sha = outcome.hashes.sha256
        budget.expanded[sha] = item.path
        try:
            with item.open() as stream:
                _expand(item, stream, expander, walk, budget, timer, frozenset({sha}))
        except OSError as exc:
            walk.out.error(read_error(item, exc))


def _expand(
    item: Item,
    stream: BinaryIO,
    expander: Expander,
    walk: Walk,
    budget: Budget,
    timer: _Timer,
    ancestors: frozenset[str],
) -> bool:
    """Walk the members of ``item``; whether the walk found anything (a member or a record)."""
    names: dict[str, int] = {}
    index = 0
    said = False
    try:
        for found in expander(item, stream, budget):
            if isinstance(found, ScanError):
                walk.out.error(found)
                said = True
                continue
            child, repeated = child_item(item, found, names)
            if repeated is not None:
                walk.out.error(repeated)
            budget.admit()
            timer.restart()
            try:
                _member(child, found, index, walk, budget, timer, ancestors)
            except ItemTimeout:
                walk.out.error(timeout_error(child.path, walk.limits))
            except BudgetExceeded:
                raise
            except Exception as exc:  # noqa: BLE001 - one member's failure is its record
                walk.out.error(_failure(child.path, exc))
            index += 1
    except ItemTimeout:
        walk.out.error(timeout_error(item.path, walk.limits))
        said = True
    except BudgetExceeded:
        raise
    except Exception as exc:  # noqa: BLE001 - a broken reader ends this container only
        walk.out.error(_failure(item.path, exc))
        said = True
    finally:
        # Members given away leave before the mark that the container is finished.
        if walk.ship is not None:
            walk.ship.flush()
        # Finished, or stopped by a budget (with its record): either way not re-entered.
        walk.out.expanded(item.path)
    return said or index > 0


def _member(
    child: Item,
    member: Member,
    index: int,
    walk: Walk,
    budget: Budget,
    timer: _Timer,
    ancestors: frozenset[str],
) -> None:
    reenter = child.path in walk.reenter
    if child.path in walk.done and not reenter:
        return
    if child.encrypted:
        _unread(child, walk)
        return
    source = Metered(member.stream, budget)
    try:
        head = _read_head(source)
    except OSError as exc:
        _unread(child, walk, exc)
        return
    kind = sniff(head)
    expander = expander_for(kind.mime, walk.limits, head)
    spool = Spool(walk.spool_dir) if expander or kind.media in walk.analysis.analysers else None
    try:
        try:
            digests = digest_stream(_Prefixed(head, source), copy_to=spool)
        except OSError as exc:
            _unread(child, walk, exc)
            return
        if spool is not None:
            child = replace(child, open=spool.open)
        if reenter:
            if expander is not None:
                with child.open() as stream:
                    _expand(child, stream, expander, walk, budget, timer, ancestors)
            return
        if (
            walk.ship is not None
            and spool is not None
            and expander is None
            and walk.ship.wants(index, digests.size)
            and _typed_by_head(child, head, kind)
        ):
            with child.open() as stream:
                walk.ship.add(child, digests, stream)
            walk.out.count_bytes(digests.size)
            return
        outcome = walk.analysis.finish(child, digests)
        if outcome.kind is not None and outcome.kind != kind:  # typed by more than its head
            expander = expander_for(outcome.kind.mime, walk.limits)
        walk.out.errors(outcome.errors)
        walk.out.count_bytes(digests.size)
        sha = digests.sha256
        if expander is not None and sha in budget.barren:
            # Walked before and held nothing (an unknown binary searched for pictures):
            # there is nothing to point to, so no record; its content row says the rest.
            expander = None
        elif expander is not None and sha in budget.expanded:
            first = budget.expanded[sha]
            why = (
                "recursion: same content as an enclosing container"
                if sha in ancestors
                else f"same content as {first}: its members are recorded there"
            )
            walk.out.error(ScanError(child.path, "expand", why))
            expander = None
        elif expander is not None and (deep := budget.depth_error(child.path, child.depth)):
            walk.out.error(deep)
            budget.expanded[sha] = child.path
            expander = None
        walk.out.record(
            ItemRecord(detach(child), outcome.hashes, outcome.matches, container=bool(expander))
        )
        if expander is not None:
            budget.expanded[sha] = child.path
            with child.open() as stream:
                if not _expand(child, stream, expander, walk, budget, timer, ancestors | {sha}):
                    budget.barren.add(sha)
    finally:
        if spool is not None:
            spool.close()


def _unread(child: Item, walk: Walk, exc: OSError | None = None) -> None:
    """Record a member whose bytes could not be read (encrypted, or damaged: ``exc``)."""
    if exc is not None:
        walk.out.error(read_error(child, exc))
    walk.out.record(ItemRecord(detach(child), None, [], container=False))


def _read_head(stream: BinaryIO) -> bytes:
    parts: list[bytes] = []
    have = 0
    while have < HEAD_SIZE:
        data = stream.read(HEAD_SIZE - have)
        if not data:
            break
        parts.append(data)
        have += len(data)
    return b"".join(parts)


class _Prefixed:
    """``head`` (already read) followed by the rest of ``rest``."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = head
        self._rest = rest

    def read(self, size: int = -1) -> bytes:
        if self._head:
            data, self._head = self._head, b""
            return data
        return self._rest.read(size)


def _typed_by_head(item: Item, head: bytes, kind: Kind) -> bool:
    """Whether the whole content types as its head does: a Firefox cache2 entry starts
    with its picture, and is walked here, not shipped out as a picture."""
    try:
        with item.open() as stream:
            return kind_of(head, stream) == kind
    except OSError:
        return True


def _expander_of(item: Item, limits: Limits) -> Expander | None:
    try:
        with item.open() as stream:
            head = stream.read(HEAD_SIZE)
            kind = kind_of(head, stream)
    except OSError:
        return None
    return expander_for(kind.mime, limits, head)


def _failure(location: str, exc: BaseException) -> ScanError:
    return ScanError(location, "walk", f"unexpected failure: {type(exc).__name__}: {exc}")


def timeout_error(location: str, limits: Limits) -> ScanError:
    return ScanError(
        location,
        "budget",
        f"time budget: one step took more than max_item_seconds={limits.max_item_seconds:g} "
        "s of CPU; stopped there",
    )


def cpu_budget(seconds: float) -> _Timer:
    """A context in which one step may take at most ``seconds`` of CPU (main thread)."""
    return _Timer(seconds)


class _Timer:
    """A CPU-time alarm for the current step of the walk (SIGPROF, main thread only)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.active = (
            seconds > 0
            and threading.current_thread() is threading.main_thread()
            and hasattr(signal, "setitimer")
        )

    def restart(self) -> None:
        if self.active:
            signal.setitimer(signal.ITIMER_PROF, self.seconds)

    def __enter__(self) -> _Timer:
        if self.active:
            self._previous = signal.signal(signal.SIGPROF, _on_alarm)
            self.restart()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.active:
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.signal(signal.SIGPROF, self._previous)


def _on_alarm(_signum: int, _frame: object) -> None:
    raise ItemTimeout
