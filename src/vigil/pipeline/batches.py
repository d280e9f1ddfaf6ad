"""Results leave a worker in batches as they are made, not when its unit ends.

A ``BatchWriter`` collects records, errors and finished containers and hands a
``Batch`` to its ``send`` function every ``BATCH_RECORDS`` records (and once more at the
end of the unit, marked ``final``). The coordinator writes each batch in its own
transaction. Resume stays exact because a container is marked finished only in the
batch that comes after all of its members, and re-written rows are ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from vigil.model import ScanError
from vigil.store.api import ItemRecord

BATCH_RECORDS = 2000


@dataclass
class Batch:
    """Part of one unit's result (picklable: items carry no opener)."""

    unit: int
    records: list[ItemRecord] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)
    expanded: list[str] = field(default_factory=list)
    # Bytes read for contents, and bytes of the unit's top-level items (for progress).
    bytes: int = 0
    top_bytes: int = 0
    final: bool = False
    # Sent by a shipment task (members shared out of the unit's containers).
    shipment: bool = False


class BatchWriter:
    """Collects one unit's results and sends them on in batches."""

    def __init__(self, unit: int, send: Callable[[Batch], None], shipment: bool = False) -> None:
        self.unit = unit
        self._send = send
        self._shipment = shipment
        self._batch = Batch(unit, shipment=shipment)

    def record(self, record: ItemRecord) -> None:
        self._batch.records.append(record)
        if len(self._batch.records) >= BATCH_RECORDS:
            self.flush()

    def error(self, error: ScanError) -> None:
        self._batch.errors.append(error)

    def errors(self, errors: Iterable[ScanError]) -> None:
        self._batch.errors.extend(errors)

    def expanded(self, path: str) -> None:
        self._batch.expanded.append(path)

    def count_bytes(self, n: int) -> None:
        self._batch.bytes += n

    def count_top_bytes(self, n: int) -> None:
        self._batch.top_bytes += n

    def flush(self, final: bool = False) -> None:
        """Send what was collected (the final batch even when it is empty)."""
        batch = self._batch
        batch.final = final
        if final or batch.records or batch.errors or batch.expanded:
            self._batch = Batch(self.unit, shipment=self._shipment)
            self._send(batch)
