"""Budgets of one top-level item, counted across every container level below it.

A zip bomb is not one big member: it is many small ones, nested, or one member whose
bytes never end. So the limits are not per container but per top-level item (a file
of the evidence): members, expanded bytes, nesting depth and wall-clock time, all
added up over every level. Members, bytes and time end the walk of the item; depth
only stops the container that is too deep (its siblings are still walked). The
expansion ratio is not a reason to refuse a member: it sets the byte allowance
(``max_ratio`` times the item's size, between ``min_bytes`` and ``max_bytes``), so a
6 MB screenshot zipped 300:1 is read, and a 42 kB zip that would expand to 5 GB stops
after ``min_bytes`` with a record.

When a budget is spent, ``Budget.exceeded`` holds the one ``ScanError`` naming it and
its value; everything found up to then is kept, and the scan goes on.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from typing import BinaryIO

from vigil.model import ScanError

GIB = 1024**3


@dataclass(frozen=True)
class Limits:
    """The budget settings (documented in the README under "Budgets")."""

    max_depth: int = 8
    max_members: int = 2_000_000
    max_ratio: float = 1000.0
    min_bytes: int = 1 * GIB
    max_bytes: int = 1024 * GIB
    max_seconds: float = 3600.0
    # CPU seconds one member may take (decode, parse); enforced by the worker process.
    max_item_seconds: float = 60.0
    # Carve pictures out of files of no known kind (``expand/inside.py``).
    carve_files: bool = True


class BudgetExceeded(Exception):
    """Raised inside a walk when a budget is spent; the walk of the top-level item ends."""


@dataclass
class Budget:
    """Running totals for one top-level item (see the module docstring)."""

    location: str
    limits: Limits
    size: int | None = None
    members: int = 0
    bytes: int = 0
    started: float = field(default_factory=time.monotonic)
    exceeded: ScanError | None = None
    # Container contents already expanded under this top-level item: sha256 -> path.
    expanded: dict[str, str] = field(default_factory=dict)
    # Of those, the ones whose walk found nothing (no member, no record).
    barren: set[str] = field(default_factory=set)

    @property
    def byte_allowance(self) -> int:
        """Expanded bytes allowed under this item: ``max_ratio`` x its size, bounded."""
        by_ratio = int((self.size or 0) * self.limits.max_ratio)
        return max(self.limits.min_bytes, min(self.limits.max_bytes, by_ratio))

    def spend(self, name: str, reason: str) -> BudgetExceeded:
        """Record that the budget ``name`` is spent (once) and return the exception to raise."""
        if self.exceeded is None:
            self.exceeded = ScanError(self.location, "budget", f"{name} budget: {reason}")
        return BudgetExceeded(reason)

    def admit(self) -> None:
        """Count one member.

        Raises:
            BudgetExceeded: when members or time are spent.
        """
        self.members += 1
        if self.members > self.limits.max_members:
            raise self.spend(
                "members", f"more than max_members={self.limits.max_members} members"
            )
        self.check_time()

    def depth_error(self, location: str, depth: int) -> ScanError | None:
        """A record if a container at ``depth`` is too deep to walk (its siblings go on)."""
        if depth < self.limits.max_depth:
            return None
        return ScanError(
            location,
            "budget",
            f"depth budget: members would be deeper than max_depth={self.limits.max_depth}; "
            "not expanded",
        )

    def charge(self, n: int) -> None:
        """Count ``n`` expanded bytes.

        Raises:
            BudgetExceeded: when the byte allowance is spent.
        """
        self.bytes += n
        if self.bytes > self.byte_allowance:
            raise self.spend(
                "bytes",
                f"more than {self.byte_allowance} expanded bytes (max_ratio="
                f"{self.limits.max_ratio:g} x {self.size} bytes, at least "
                f"min_bytes={self.limits.min_bytes}, at most max_bytes={self.limits.max_bytes})",
            )

    def check_time(self) -> None:
        """Raises BudgetExceeded when the item has taken more than ``max_seconds``."""
        if time.monotonic() - self.started > self.limits.max_seconds:
            raise self.spend("time", f"more than max_seconds={self.limits.max_seconds:g} s")


class Metered(io.RawIOBase):
    """A forward-only view of a member's stream that charges every byte to a budget."""

    def __init__(self, source: BinaryIO, budget: Budget) -> None:
        super().__init__()
        self._source = source
        self._budget = budget

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._source.read(len(buffer))
        n = len(data)
        memoryview(buffer)[:n] = data
        if n:
            self._budget.charge(n)
        return n
