"""A small in-memory cache of rendered blurred tiles (never of revealed pictures)."""

from __future__ import annotations

import threading
from collections import OrderedDict


class TileCache:
    """Least-recently-used cache of tile JPEG bytes.

    Args:
        capacity: How many tiles to keep.
    """

    def __init__(self, capacity: int = 1024) -> None:
        self.capacity = capacity
        self._data: OrderedDict[tuple[str, int, int], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int, int]) -> bytes | None:
        """The cached tile for ``(case, content_id, blur)``, or None.

        Args:
            key: ``(case, content_id, blur)``.

        Returns:
            JPEG bytes or None.
        """
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: tuple[str, int, int], value: bytes) -> None:
        """Store a tile, evicting the least recently used beyond capacity.

        Args:
            key: ``(case, content_id, blur)``.
            value: JPEG bytes.
        """
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.capacity:
                self._data.popitem(last=False)
