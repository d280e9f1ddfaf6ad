"""Batches from Dask workers to the scan while their units run, over one TCP connection.

Local workers send their batches through a Unix socket (``executors.SocketChannel``);
a Dask worker may sit on another machine, so the scan listens on a TCP port of its own
and each worker process opens one connection to it, shared by its task threads. The
first message of a connection is the scan's random token: a connection that does not
present it is closed unread (messages are pickles, as Dask's own are). Messages are
framed by ``multiprocessing.connection.Connection``, as on the local workers' Unix
sockets (``executors.SocketChannel``).

The scan reads frames into a bounded queue: when the scan falls behind writing, the
readers stop reading, TCP's window fills and the workers' sends wait. So a unit's
results never pile up in memory on either side, however many members it holds.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import pickle
import queue
import secrets
import socket
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

_MAX_MESSAGE = 1 << 30


class TcpChannel:
    """The scan's end: a listening socket and a queue of what workers sent."""

    def __init__(self, host: str, depth: int = 64) -> None:
        self._server = socket.create_server((host, 0))
        self.address = (host, self._server.getsockname()[1])
        self.token = secrets.token_bytes(16)
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._closed = threading.Event()
        self._connections: list[socket.socket] = []
        threading.Thread(target=self._accept, name="vigil-tcp-channel", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _peer = self._server.accept()
            except OSError:
                return
            self._connections.append(conn)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, sock: socket.socket) -> None:
        # A duplicate of the socket's descriptor: ``close`` shuts the socket down under it.
        with sock, Connection(os.dup(sock.fileno())) as conn:
            try:
                token = conn.recv_bytes(maxlength=len(self.token))
                if not hmac.compare_digest(token, self.token):
                    return
                while True:
                    self._queue.put(pickle.loads(conn.recv_bytes(maxlength=_MAX_MESSAGE)))
            except (OSError, pickle.UnpicklingError, EOFError):
                return

    def get(self, timeout: float | None = None) -> Any:
        """The next message (``queue.Empty`` after ``timeout`` seconds)."""
        return self._queue.get(timeout=timeout)

    def get_nowait(self) -> Any:
        """The next message if one is waiting (else ``queue.Empty``)."""
        return self._queue.get_nowait()

    def close(self) -> None:
        """Stop listening and drop every connection."""
        self._closed.set()
        with contextlib.suppress(OSError):
            self._server.close()
        for conn in self._connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class Sender:
    """A worker process's end: one connection to one scan, shared by its threads."""

    def __init__(self, address: tuple[str, int], token: bytes) -> None:
        self._conn = Connection(socket.create_connection(address).detach())
        self._lock = threading.Lock()
        self._conn.send_bytes(token)

    def put(self, message: Any) -> None:
        """Send ``message`` (a batch or a shipment) to the scan; blocks while it is behind."""
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        with self._lock:
            self._conn.send_bytes(data)

    def close(self) -> None:
        """Close the connection."""
        with contextlib.suppress(OSError):
            self._conn.close()


_SENDERS: dict[tuple[tuple[str, int], bytes], Sender] = {}
_SENDERS_LOCK = threading.Lock()
_KEEP = 8


def sender(address: tuple[str, int], token: bytes) -> Sender:
    """This process's connection to the scan at ``address`` (opened on first use).

    A long-lived worker keeps the connections of the last ``_KEEP`` scans it worked
    for (several scans may share a cluster); older ones are closed.
    """
    key = (tuple(address), token)
    with _SENDERS_LOCK:
        found = _SENDERS.pop(key, None)
        if found is None:
            found = Sender(key[0], token)
        _SENDERS[key] = found  # newest last
        while len(_SENDERS) > _KEEP:
            _SENDERS.pop(next(iter(_SENDERS))).close()
        return found


def run_sending(
    address: tuple[str, int], token: bytes, fn: Callable[..., Any], *args: Any
) -> Any:
    """Run the task ``fn(*args)`` on a Dask worker with its batches sent to the scan."""
    from vigil.pipeline.units import set_task_channel

    set_task_channel(sender(address, token).put)
    try:
        return fn(*args)
    finally:
        set_task_channel(None)
