"""Where work units run: threads, local processes, or a Dask cluster.

Each executor takes ``run_unit`` calls and yields their futures as they finish; the
scan loop does not know which one it talks to. Local executors also have a
``channel``: a bounded queue on which their workers send result batches while a unit
is still running (``pipeline/batches.py``); a full queue makes workers wait, so results
never pile up faster than the store takes them. A local process pool that lost a
worker (killed, out of memory) can be ``restart``ed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import queue
import signal
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import (
    FIRST_COMPLETED,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from typing import Any, Protocol

from vigil.errors import DependencyError, UsageError


class UnitExecutor(Protocol):
    """Runs functions somewhere and hands back results as they complete."""

    channel: Any

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any: ...

    def completed(self, futures: set[Any], timeout: float | None = None) -> Iterator[Any]: ...

    def restart(self) -> bool: ...

    def close(self) -> None: ...


class LocalExecutor:
    """Threads or processes on this machine (concurrent.futures)."""

    def __init__(
        self,
        make_pool: Callable[[], Executor],
        channel: Any,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._make_pool = make_pool
        self.pool = make_pool()
        self.channel = channel
        self._on_close = on_close

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        return self.pool.submit(fn, *args)

    def completed(self, futures: set[Any], timeout: float | None = None) -> Iterator[Any]:
        done, _pending = wait(futures, timeout=timeout, return_when=FIRST_COMPLETED)
        yield from done

    def restart(self) -> bool:
        """A new pool in place of a broken one (True: the units may be run again)."""
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.pool = self._make_pool()
        return True

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        if self._on_close is not None:
            self._on_close()


class DaskExecutor:
    """A Dask distributed cluster; a unit lost with a worker is re-run elsewhere.

    No channel: a unit's batches come back as its result.
    """

    channel = None

    def __init__(self, address: str) -> None:
        try:
            from distributed import Client
        except ImportError as exc:  # pragma: no cover - a pinned dependency
            raise DependencyError("dask distributed is not installed") from exc
        try:
            self.client = Client(address, timeout="20s")
        except OSError as exc:
            raise UsageError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self.client.submit(fn, *args, pure=False, retries=3)

    def completed(self, futures: set[Any], timeout: float | None = None) -> Iterator[Any]:
        from distributed import wait as dask_wait

        try:
            done, _pending = dask_wait(
                list(futures), timeout=timeout, return_when="FIRST_COMPLETED"
            )
        except TimeoutError:
            return
        yield from done

    def restart(self) -> bool:
        return False  # Dask replaces lost workers and retries their units itself

    def close(self) -> None:
        self.client.close()


class PipeChannel:
    """Batches from forked workers to the scan: one pipe, writes serialised by a lock.

    A ``put`` returns once the batch is in the pipe (a full pipe makes the worker wait
    for the scan to read), so a batch sent before a unit returns is never lost, even if
    its worker dies afterwards.
    """

    def __init__(self, context: Any) -> None:
        self._reader, self._writer = context.Pipe(duplex=False)
        self._lock = context.Lock()

    def put(self, item: Any) -> None:
        with self._lock:
            self._writer.send(item)

    def get(self, timeout: float | None = None) -> Any:
        if not self._reader.poll(timeout):
            raise queue.Empty
        return self._reader.recv()

    def get_nowait(self) -> Any:
        return self.get(0)


def _start_worker(parent: int, channel: Any) -> None:
    # A scan killed with SIGKILL cannot stop its workers: ask Linux to do it.
    from vigil.pipeline.units import set_channel

    set_channel(channel.put)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def make_executor(kind: str, workers: int, cluster: str | None = None) -> UnitExecutor:
    """``threads``, ``processes`` (default on one machine) or ``dask`` (with ``cluster``)."""
    if cluster:
        return DaskExecutor(cluster)
    depth = max(4, workers * 4)
    if kind == "threads":
        from vigil.pipeline.units import set_channel

        channel: Any = queue.Queue(maxsize=depth)
        set_channel(channel.put)
        return LocalExecutor(
            lambda: ThreadPoolExecutor(max_workers=workers), channel, lambda: set_channel(None)
        )
    if kind == "processes":
        # fork: workers start with the libraries the scan has already imported (spawn
        # re-imported them, half a second of CPU per worker). The pool forks all its
        # workers at the first submit, before the scan opens any evidence or starts a
        # thread, and they follow the scan when it is killed (_start_worker).
        context = multiprocessing.get_context("fork")
        channel = PipeChannel(context)
        parent = os.getpid()
        return LocalExecutor(
            lambda: ProcessPoolExecutor(
                max_workers=workers,
                mp_context=context,
                initializer=_start_worker,
                initargs=(parent, channel),
            ),
            channel,
        )
    raise UsageError(f"unknown executor {kind!r}: threads, processes, or --cluster")
