"""Where work units run: threads, local processes, or a Dask cluster.

Each executor takes ``run_unit`` calls and yields their results as they finish; the
scan loop does not know which one it talks to.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
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

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any: ...

    def completed(self, futures: set[Any]) -> Iterator[Any]: ...

    def close(self) -> None: ...


class LocalExecutor:
    """Threads or processes on this machine (concurrent.futures)."""

    def __init__(self, pool: Executor) -> None:
        self.pool = pool

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        return self.pool.submit(fn, *args)

    def completed(self, futures: set[Any]) -> Iterator[Any]:
        done, _pending = wait(futures, return_when=FIRST_COMPLETED)
        yield from done

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    """A Dask distributed cluster; a unit lost with a worker is re-run elsewhere."""

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

    def completed(self, futures: set[Any]) -> Iterator[Any]:
        from distributed import wait as dask_wait

        done, _pending = dask_wait(list(futures), return_when="FIRST_COMPLETED")
        yield from done

    def close(self) -> None:
        self.client.close()


def _die_with_parent(parent: int) -> None:
    # A scan killed with SIGKILL cannot stop its workers: ask Linux to do it.
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def make_executor(kind: str, workers: int, cluster: str | None = None) -> UnitExecutor:
    """``threads``, ``processes`` (default on one machine) or ``dask`` (with ``cluster``)."""
    if cluster:
        return DaskExecutor(cluster)
    if kind == "threads":
        return LocalExecutor(ThreadPoolExecutor(max_workers=workers))
    if kind == "processes":
        # fork: workers start with the libraries the scan has already imported (spawn
        # re-imported them, half a second of CPU per worker). The pool forks all its
        # workers at the first submit, before the scan opens any evidence or starts a
        # thread, and they follow the scan when it is killed (_die_with_parent).
        context = multiprocessing.get_context("fork")
        return LocalExecutor(
            ProcessPoolExecutor(
                max_workers=workers,
                mp_context=context,
                initializer=_die_with_parent,
                initargs=(os.getpid(),),
            )
        )
    raise UsageError(f"unknown executor {kind!r}: threads, processes, or --cluster")
