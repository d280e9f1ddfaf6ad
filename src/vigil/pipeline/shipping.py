"""One big container uses every core: pictures streamed out of it are shared out.

A container is walked by one worker (its bytes are read once, in order). Reading and
digesting are fast; decoding and PDQ are not. So while it walks a large container, the
worker keeps one member in ``every`` for itself and ships the others, in batches, to
the rest of the pool: their bytes go back to back into a temp file in the case folder
(never named after a member) and a ``Shipment`` naming the file and the members goes
to the scan, which runs it as a task of its own (``run_shipment``). Only pictures and
videos are shipped (containers are walked where they are found, so budgets and the
"walked once" rule stay exact), and only where every worker sees the case folder's
spool (always on this machine; on a Dask cluster, when the spool is shared storage).

Resume stays exact: a container whose members were shipped is marked finished only
after every shipment from its unit has been written (the scan holds the marks back).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from vigil.hashing.crypto import Digests
from vigil.model import Item
from vigil.pipeline.records import detach

# Containers smaller than this are not worth sharing out; nor are members larger than
# SHIP_MAX_BYTES (they are analysed where they are, to bound the shipment files).
SHIP_AFTER = 16
SHIP_MAX_BYTES = 8 * 1024 * 1024
SHIPMENT_MEMBERS = 64
SHIPMENT_BYTES = 32 * 1024 * 1024


@dataclass
class Shipment:
    """Members of a container to analyse elsewhere: ``(item, digests, offset, length)``."""

    unit: int
    path: str
    entries: list[tuple[Item, Digests, int, int]] = field(default_factory=list)


class Shipper:
    """Collects the members a walking worker gives away and sends them in shipments."""

    def __init__(
        self, unit: int, send: Callable[[Shipment], None], directory: str, every: int
    ) -> None:
        self.unit = unit
        self._send = send
        self._directory = directory
        self._every = every
        self._file: BinaryIO | None = None
        self._shipment: Shipment | None = None
        self._bytes = 0

    def wants(self, index: int, size: int) -> bool:
        """Whether the ``index``-th member of a container (``size`` bytes) is given away."""
        return index >= SHIP_AFTER and size <= SHIP_MAX_BYTES and index % self._every != 0

    def add(self, item: Item, digests: Digests, data: BinaryIO) -> None:
        """Add one member (``data``: its spooled bytes) to the current shipment."""
        if self._shipment is None:
            fd, path = tempfile.mkstemp(prefix="shipment-", dir=self._directory)
            self._file = os.fdopen(fd, "wb")
            self._shipment = Shipment(self.unit, path)
            self._bytes = 0
        assert self._file is not None
        offset = self._bytes
        while chunk := data.read(1 << 20):
            self._file.write(chunk)
            self._bytes += len(chunk)
        self._shipment.entries.append((detach(item), digests, offset, self._bytes - offset))
        if len(self._shipment.entries) >= SHIPMENT_MEMBERS or self._bytes >= SHIPMENT_BYTES:
            self.flush()

    def flush(self) -> None:
        """Send the current shipment, if any (before a container is marked finished)."""
        if self._shipment is None:
            return
        assert self._file is not None
        self._file.close()
        shipment, self._shipment, self._file = self._shipment, None, None
        self._send(shipment)

    def discard(self) -> None:
        """Drop an unsent shipment (the walk failed before it could be sent)."""
        if self._shipment is not None and self._file is not None:
            self._file.close()
            os.unlink(self._shipment.path)
        self._shipment, self._file = None, None


def read_entries(shipment: Shipment) -> list[tuple[Item, Digests, bytes]]:
    """The shipped members with their bytes (the caller deletes the file when done)."""
    with open(shipment.path, "rb") as f:
        blob = f.read()
    return [(item, digests, blob[o : o + n]) for item, digests, o, n in shipment.entries]


def remove(shipment: Shipment) -> None:
    """Delete the shipment's file (it may be gone already)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(shipment.path)
