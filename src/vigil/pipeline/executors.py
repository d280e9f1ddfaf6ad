"""Where work units run: threads, local processes, or a Dask cluster.

Each executor takes ``run_unit`` calls and yields their futures as they finish; the
scan loop does not know which one it talks to. Each has a ``channel`` on which its
workers send result batches while a unit is still running (``pipeline/batches.py``):
a bounded queue for threads, a Unix socket per worker process for processes, a TCP
connection per worker process for a Dask cluster (``tcp_channel.py``); a full one
makes workers wait, so results never pile up faster than the store takes them. A
local process pool that lost a worker (killed, out of memory) is replaced; Dask
re-runs a lost worker's tasks itself.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import pickle
import queue
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import (
    FIRST_COMPLETED,
    BrokenExecutor,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from multiprocessing.connection import Client, Connection
from multiprocessing.connection import wait as connection_wait
from typing import Any, Protocol

from vigil.errors import DependencyError, UsageError


class UnitExecutor(Protocol):
    """Runs functions somewhere and hands back results as they complete."""

    channel: Any
    size: int

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any: ...

    def completed(self, futures: set[Any], timeout: float | None = None) -> Iterator[Any]: ...

    can_restart: bool

    def failed(self, future: Any) -> None: ...

    def forget(self, future: Any) -> None: ...

    def sees(self, folder: str) -> bool: ...

    def close(self) -> None: ...


class LocalExecutor:
    """Threads or processes on this machine (concurrent.futures)."""

    def __init__(
        self,
        make_pool: Callable[[], Executor],
        channel: Any,
        size: int,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.size = size
        self._make_pool = make_pool
        self.pool = make_pool()
        self.channel = channel
        self._on_close = on_close
        # Futures of a pool that broke fail after it is replaced: only the failure of a
        # future of the current pool replaces it again.
        self._generation = 0
        self._generation_of: dict[Future, int] = {}

    can_restart = True

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        try:
            future = self.pool.submit(fn, *args)
        except BrokenExecutor:  # a worker died since the last look: its failures follow
            self._renew()
            future = self.pool.submit(fn, *args)
        self._generation_of[future] = self._generation
        return future

    def completed(self, futures: set[Any], timeout: float | None = None) -> Iterator[Any]:
        done, _pending = wait(futures, timeout=timeout, return_when=FIRST_COMPLETED)
        yield from done

    def failed(self, future: Future) -> None:
        """``future`` raised: if its pool is the current one, replace that pool."""
        if self._generation_of.pop(future, None) == self._generation:
            self._renew()

    def forget(self, future: Future) -> None:
        """``future`` finished well."""
        self._generation_of.pop(future, None)

    def sees(self, folder: str) -> bool:
        """Local workers see this machine's folders."""
        return os.path.isdir(folder)

    def _renew(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.pool = self._make_pool()
        self._generation += 1

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        if self._on_close is not None:
            self._on_close()


class DaskExecutor:
    """A Dask distributed cluster; a unit lost with a worker is re-run elsewhere.

    Units send their batches while they run through a TCP channel the scan listens on
    (``tcp_channel.py``), on the address this machine reaches the scheduler from.
    """

    def __init__(self, address: str) -> None:
        try:
            from distributed import Client
        except ImportError as exc:  # pragma: no cover - a pinned dependency
            raise DependencyError("dask distributed is not installed") from exc
        try:
            self.client = Client(address, timeout="20s")
        except OSError as exc:
            raise UsageError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
        from vigil.pipeline.tcp_channel import TcpChannel

        self.channel = TcpChannel(_local_address_towards(self.client.scheduler.address))
        self.size = max(1, sum(self.client.nthreads().values()))

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        from vigil.pipeline.tcp_channel import run_sending

        return self.client.submit(
            run_sending, self.channel.address, self.channel.token, fn, *args,
            pure=False, retries=3,
        )

    def sees(self, folder: str) -> bool:
        """Whether every worker of the cluster sees ``folder`` (shared storage)."""
        try:
            return all(self.client.run(os.path.isdir, folder).values())
        except Exception:  # noqa: BLE001 - a worker that cannot answer does not see it
            return False

    def completed(self, futures: set[Any], timeout: float | None = None) -> Iterator[Any]:
        from distributed import wait as dask_wait

        done = [f for f in futures if f.done()]
        if done or timeout == 0:
            # distributed's wait() with timeout 0 times out before it looks at any future.
            yield from done
            return
        try:
            done, _pending = dask_wait(
                list(futures), timeout=timeout, return_when="FIRST_COMPLETED"
            )
        except TimeoutError:
            return
        yield from done

    can_restart = False  # Dask replaces lost workers and retries their units itself

    def failed(self, future: Any) -> None:
        return None

    def forget(self, future: Any) -> None:
        return None

    def close(self) -> None:
        self.channel.close()
        self.client.close()


def _local_address_towards(scheduler: str) -> str:
    """The address of this machine on the route to the scheduler (``tcp://host:port``)."""
    host = scheduler.rpartition("://")[2].rsplit(":", 1)[0].strip("[]")
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect((host, 9))  # no packet is sent: this only picks the route
            return probe.getsockname()[0]
    except OSError:
        return "127.0.0.1"


class SocketChannel:
    """Batches from worker processes to the scan: one Unix-socket connection per worker.

    A ``put`` returns once the batch is in the worker's socket (a full socket makes the
    worker wait for the scan to read), so a batch sent before a unit returns is never
    lost. A worker killed in the middle of a send breaks only its own connection: the
    scan drops it (that worker's unit is run again) and reads the others as before.
    No thread: the listening socket is polled with the connections.
    """

    def __init__(self) -> None:
        self._folder = tempfile.mkdtemp(prefix="vigil-channel-")
        self.address = os.path.join(self._folder, "batches")
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.address)
        self._listener.listen(64)
        self._connections: list[Connection] = []
        self._sender: Connection | None = None

    def connect(self) -> None:
        """In a worker process: open this process's connection to the scan."""
        self._sender = Client(self.address, family="AF_UNIX")

    def put(self, item: Any) -> None:
        assert self._sender is not None, "connect() first"
        self._sender.send(item)

    def get(self, timeout: float | None = None) -> Any:
        """The next batch from any worker; ``queue.Empty`` after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready = connection_wait([self._listener, *self._connections], left)
            for source in ready:
                if source is self._listener:
                    accepted, _ = self._listener.accept()
                    self._connections.append(Connection(accepted.detach()))
                    continue
                try:
                    return source.recv()  # type: ignore[union-attr]
                except (EOFError, OSError, pickle.UnpicklingError):
                    # Its worker is gone (perhaps in the middle of a send).
                    self._connections.remove(source)  # type: ignore[arg-type]
                    source.close()  # type: ignore[union-attr]
            if not ready and (deadline is None or time.monotonic() >= deadline):
                raise queue.Empty

    def get_nowait(self) -> Any:
        return self.get(0)

    def close(self) -> None:
        for conn in self._connections:
            conn.close()
        self._listener.close()
        shutil.rmtree(self._folder, ignore_errors=True)


def _start_worker(parent: int, channel: SocketChannel) -> None:
    # A scan killed with SIGKILL cannot stop its workers: ask Linux to do it.
    from vigil.pipeline.units import set_channel

    channel.connect()
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
            lambda: ThreadPoolExecutor(max_workers=workers), channel, workers,
            lambda: set_channel(None),
        )
    if kind == "processes":
        # fork: workers start with the libraries the scan has already imported (spawn
        # re-imported them, half a second of CPU per worker). The pool forks all its
        # workers at the first submit, before the scan opens any evidence or starts a
        # thread, and they follow the scan when it is killed (_start_worker).
        context = multiprocessing.get_context("fork")
        sockets = SocketChannel()
        parent = os.getpid()
        return LocalExecutor(
            lambda: ProcessPoolExecutor(
                max_workers=workers,
                mp_context=context,
                initializer=_start_worker,
                initargs=(parent, sockets),
            ),
            sockets,
            workers,
            sockets.close,
        )
    raise UsageError(f"unknown executor {kind!r}: threads, processes, or --cluster")
