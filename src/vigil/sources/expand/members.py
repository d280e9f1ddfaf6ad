"""Shared pieces of the expanders: child items and the bomb guards.

Not an expander itself (it registers nothing); each container module uses it so that
every kind builds children and applies ``Limits`` the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import BinaryIO

from vigil.model import MEMBER_SEP, OFFSET_SEP, Item, ScanError
from vigil.sources.expand import Limits

# Members below this size are never refused for their compression ratio: a small text
# of zeros compresses 1000:1 and is no bomb.
RATIO_FLOOR = 1024 * 1024


class Budget:
    """Running totals for one container: entries seen and bytes promised."""

    def __init__(self, item: Item, limits: Limits, stage: str) -> None:
        self.item = item
        self.limits = limits
        self.stage = stage
        self.entries = 0
        self.total = 0

    def depth_error(self) -> ScanError | None:
        """A ScanError if children of ``item`` would be deeper than allowed."""
        if self.item.depth + 1 > self.limits.max_depth:
            return ScanError(
                self.item.path,
                self.stage,
                f"depth limit: max_depth={self.limits.max_depth} reached, not expanded",
            )
        return None

    def admit(self, member: str, size: int | None, packed: int | None) -> ScanError | None:
        """Count one member; a ScanError (naming the limit) if it must not be expanded.

        Args:
            member: Member name, for the error location.
            size: Declared uncompressed size, if known.
            packed: Compressed size, if known.

        Returns:
            None when the member is admitted.
        """
        where = self.item.path + MEMBER_SEP + member
        self.entries += 1
        if self.entries > self.limits.max_entries:
            return ScanError(
                self.item.path,
                self.stage,
                f"entry limit: more than max_entries="
                f"{self.limits.max_entries} members, the rest is not listed",
            )
        if size is None:
            return None
        if size > self.limits.max_member_bytes:
            return ScanError(
                where,
                self.stage,
                f"member size limit: {size} > max_member_bytes={self.limits.max_member_bytes}",
            )
        if packed is not None and size > RATIO_FLOOR and size > packed * self.limits.max_ratio:
            return ScanError(
                where,
                self.stage,
                f"expansion ratio limit: {size} from {packed} bytes exceeds "
                f"max_ratio={self.limits.max_ratio:g}",
            )
        self.total += size
        if self.total > self.limits.max_total_bytes:
            return ScanError(
                where,
                self.stage,
                f"total bytes limit: more than max_total_bytes={self.limits.max_total_bytes}",
            )
        return None

    def entry_limit_hit(self) -> bool:
        return self.entries > self.limits.max_entries


def child(
    item: Item,
    member: str,
    opener: Callable[[], BinaryIO],
    size: int | None,
    *,
    offset: int | None = None,
    embedded: bool = False,
    in_archive: bool = True,
    encrypted: bool = False,
    modified: datetime | None = None,
) -> Item:
    """A child item of ``item``: ``parent!member`` (or ``parent@offset`` if offset given).

    Args:
        item: The container item.
        member: Member name inside the container (ignored when ``offset`` is set).
        opener: Callable returning a seekable stream of the member's bytes.
        size: Member size, if known.
        offset: Byte offset of embedded data in the container.
        embedded: The child is embedded data (picture in a document, thumbnail).
        in_archive: The child is an archive member.
        encrypted: The member is encrypted; ``opener`` may raise.
        modified: Modification time (aware UTC) if the container records one.

    Returns:
        The child ``Item``.
    """
    path = item.path + (f"{OFFSET_SEP}{offset}" if offset is not None else MEMBER_SEP + member)
    return Item(
        path=path,
        open=opener,
        size=size,
        modified=modified,
        allocated=item.allocated,
        deleted=item.deleted,
        carved=item.carved,
        embedded=embedded,
        in_archive=in_archive,
        encrypted=encrypted,
        offset=offset,
        parent=item.path,
        depth=item.depth + 1,
    )
