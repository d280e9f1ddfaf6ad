"""Exact range search over a bank of PDQ hashes: every entry within distance r.

Multi-index hashing (Norouzi et al., 2012) in numpy. The 256 bits are cut into 16
chunks of 16 bits. If two hashes differ in at most r bits, at least one chunk differs
in at most ``r // 16`` bits (pigeonhole), so probing, in each of 16 tables, the buckets
of the query's chunk and of every chunk value within ``r // 16`` bits of it finds every
true match; the candidates are then checked with a full popcount. Nothing is
approximate: the result equals the brute-force scan (``brute_force``, kept here as the
test oracle).

Memory per hash: 32 bytes of code, 4 bytes of entry id (8 if ids do not fit in
uint32), and 4 bytes in each of 15 tables (table 0 is the bank order itself, because
the bank is stored sorted by its first chunk): 96 bytes, about 0.96 GB for 10M hashes.
FAISS ``IndexBinaryMultiHash`` keeps 8-byte ids in hash maps and needs well over 1.6 GB.

The index file is one flat file: a JSON header and raw arrays, so ``load`` can
memory-map it and serve queries without reading it all first.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from itertools import combinations
from pathlib import Path

import numpy as np

from vigil.hashing.pdq import MATCH_DISTANCE, normalize_hash

CHUNKS = 16
CHUNK_BITS = 16
_BUCKETS = 1 << CHUNK_BITS
_MAGIC = b"VIGILPDQIDX1\n"
_ALIGN = 64
# Bound on candidates examined at once, to keep batch temporaries near 100 MB.
_CANDIDATES_PER_BATCH = 2_000_000

Hit = tuple[int, int]


def hex_to_codes(hashes: Sequence[str]) -> np.ndarray:
    """Pack hex PDQ hashes into an N x 32 uint8 array (big-endian bytes).

    Args:
        hashes: 64-hex-character hashes, any case.

    Returns:
        N x 32 uint8 array.

    Raises:
        ValueError: a value is not a PDQ hash.
    """
    joined = "".join(normalize_hash(value) for value in hashes)
    return np.frombuffer(bytes.fromhex(joined), dtype=np.uint8).reshape(len(hashes), 32)


def brute_force(
    codes: np.ndarray, ids: np.ndarray, query: str, max_distance: int = MATCH_DISTANCE
) -> list[Hit]:
    """Reference search: Hamming distance to every entry of the bank.

    Args:
        codes: N x 32 uint8 bank (see ``hex_to_codes``).
        ids: N entry ids, in the same order.
        query: hex hash.
        max_distance: largest distance reported.

    Returns:
        (entry_id, distance) for each entry within ``max_distance``, sorted by
        distance then id.
    """
    wanted = hex_to_codes([query]).view(np.uint64)
    distances = np.bitwise_count(codes.view(np.uint64) ^ wanted).sum(axis=1, dtype=np.int64)
    hits = np.flatnonzero(distances <= max_distance)
    return _sorted_hits(ids[hits], distances[hits])


def _sorted_hits(ids: np.ndarray, distances: np.ndarray) -> list[Hit]:
    order = np.lexsort((ids, distances))
    return [(int(ids[i]), int(distances[i])) for i in order]


def _flip_masks(radius: int) -> np.ndarray:
    """Every 16-bit XOR mask with at most ``radius`` bits set."""
    masks = [0]
    for count in range(1, radius + 1):
        masks.extend(sum(1 << bit for bit in bits) for bits in combinations(range(16), count))
    return np.array(masks, dtype=np.int64)


class PdqIndex:
    """Exact multi-index over PDQ hashes, built once, then queried.

    Use ``PdqIndex.build(entries)`` or ``PdqIndex.load(path)``.
    """

    def __init__(
        self, codes: np.ndarray, ids: np.ndarray, tables: np.ndarray, offsets: np.ndarray
    ) -> None:
        self._codes = codes
        self._words = codes.view(np.uint64)
        self._chunks = codes.view(np.uint16)
        self._ids = ids
        self._tables = tables
        self._offsets = offsets

    def __len__(self) -> int:
        return len(self._codes)

    @classmethod
    def build(cls, entries: Iterable[tuple[int, str]]) -> PdqIndex:
        """Build an index from (entry_id, hash_hex) pairs.

        Args:
            entries: the bank; ids are integers (stored as uint32 when they fit).

        Returns:
            The index.

        Raises:
            ValueError: a hash is not 64 hex characters.
        """
        ids_list: list[int] = []
        hashes: list[str] = []
        for entry_id, value in entries:
            ids_list.append(entry_id)
            hashes.append(value)
        return cls.from_arrays(np.array(ids_list, dtype=np.int64), hex_to_codes(hashes))

    @classmethod
    def from_arrays(cls, ids: np.ndarray, codes: np.ndarray) -> PdqIndex:
        """Build an index from arrays already in memory.

        Args:
            ids: N integer entry ids.
            codes: N x 32 uint8 hashes (see ``hex_to_codes``).

        Returns:
            The index.
        """
        count = len(codes)
        ids = np.asarray(ids)
        if count and ids.min() >= 0 and ids.max() < 2**32:
            ids = ids.astype(np.uint32)
        else:
            ids = ids.astype(np.int64)
        chunks = np.ascontiguousarray(codes).view(np.uint16)
        # Storing the bank in table-0 order makes table 0 the identity: one table saved.
        order = np.argsort(chunks[:, 0], kind="stable")
        codes = np.ascontiguousarray(codes[order])
        ids = ids[order]
        chunks = codes.view(np.uint16)
        position_type = np.uint32 if count < 2**32 else np.uint64
        tables = np.empty((CHUNKS - 1, count), dtype=position_type)
        offsets = np.empty((CHUNKS, _BUCKETS + 1), dtype=np.int64)
        for table in range(CHUNKS):
            keys = chunks[:, table]
            offsets[table, 0] = 0
            np.cumsum(np.bincount(keys, minlength=_BUCKETS), out=offsets[table, 1:])
            if table:
                tables[table - 1] = np.argsort(keys, kind="stable")
        return cls(codes, ids, tables, offsets)

    def query(self, hash_hex: str, max_distance: int = MATCH_DISTANCE) -> list[Hit]:
        """Every entry within ``max_distance`` of one hash.

        Args:
            hash_hex: the query hash (64 hex characters).
            max_distance: largest Hamming distance reported (31 is PDQ's match bar).

        Returns:
            (entry_id, distance) pairs sorted by distance then id.
        """
        return self.query_many([hash_hex], max_distance)[0]

    def query_many(
        self, hashes: Sequence[str], max_distance: int = MATCH_DISTANCE
    ) -> list[list[Hit]]:
        """``query`` for many hashes at once (much faster per hash).

        Args:
            hashes: query hashes.
            max_distance: largest Hamming distance reported.

        Returns:
            One hit list per query, in query order.
        """
        return self.query_codes(hex_to_codes(hashes), max_distance)

    def query_codes(
        self, queries: np.ndarray, max_distance: int = MATCH_DISTANCE
    ) -> list[list[Hit]]:
        """``query_many`` for queries already packed by ``hex_to_codes``."""
        results: list[list[Hit]] = [[] for _ in range(len(queries))]
        if not len(self) or not len(queries) or max_distance < 0:
            return results
        masks = _flip_masks(max_distance // CHUNKS)
        expected = CHUNKS * len(masks) * len(self) / _BUCKETS
        batch = max(1, int(_CANDIDATES_PER_BATCH / max(expected, 1.0)))
        for start in range(0, len(queries), batch):
            part = np.ascontiguousarray(queries[start : start + batch])
            query_at, entry_at, distances = self._search(part, masks, max_distance)
            for number, entry, distance in zip(
                query_at.tolist(), entry_at.tolist(), distances.tolist(), strict=True
            ):
                results[start + number].append((entry, distance))
        return [sorted(hits, key=lambda hit: (hit[1], hit[0])) for hits in results]

    def _search(
        self, queries: np.ndarray, masks: np.ndarray, max_distance: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Candidates from every probed bucket, verified; returns (query, id, distance)."""
        count = len(self)
        keys = queries.view(np.uint16).astype(np.int64)[:, :, None] ^ masks[None, None, :]
        table = np.broadcast_to(np.arange(CHUNKS)[None, :, None], keys.shape)
        starts = self._offsets[table, keys].ravel()
        lengths = self._offsets[table, keys + 1].ravel() - starts
        segment_query = np.broadcast_to(np.arange(len(queries))[:, None, None], keys.shape).ravel()
        segment_table = table.ravel()
        total = int(lengths.sum())
        # Expand every bucket [start, start + length) into positions, without a loop.
        segment = np.repeat(np.arange(len(lengths)), lengths)
        first = np.cumsum(lengths) - lengths
        slots = starts[segment] + (np.arange(total) - first[segment])
        in_table = segment_table[segment]
        rows = np.empty(total, dtype=np.int64)
        identity = in_table == 0
        rows[identity] = slots[identity]
        others = ~identity
        rows[others] = self._tables[in_table[others] - 1, slots[others]]
        query_at = segment_query[segment]
        words = queries.view(np.uint64)
        distances = np.bitwise_count(self._words[rows] ^ words[query_at]).sum(
            axis=1, dtype=np.int64
        )
        keep = distances <= max_distance
        # A close entry is found once per chunk it nearly shares: keep one of each.
        pair = np.unique(query_at[keep] * count + rows[keep])
        query_at, rows = np.divmod(pair, count)
        distances = np.bitwise_count(self._words[rows] ^ words[query_at]).sum(
            axis=1, dtype=np.int64
        )
        return query_at, self._ids[rows].astype(np.int64), distances

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the index to one file (written to a temporary name, then renamed).

        Args:
            path: destination file.
        """
        arrays = {
            "codes": self._codes,
            "ids": self._ids,
            "tables": self._tables,
            "offsets": self._offsets,
        }
        header: dict[str, dict[str, object]] = {}
        starts: dict[str, int] = {}
        position = 0
        for name, array in arrays.items():
            starts[name] = position
            header[name] = {"offset": position, "dtype": array.dtype.str, "shape": array.shape}
            position += -(-array.nbytes // _ALIGN) * _ALIGN
        text = json.dumps(header).encode()
        preamble = len(_MAGIC) + 8 + len(text)
        base = -(-preamble // _ALIGN) * _ALIGN
        target = Path(path)
        temporary = target.with_name(target.name + ".part")
        with open(temporary, "wb") as handle:
            handle.write(_MAGIC)
            handle.write(len(text).to_bytes(8, "little"))
            handle.write(text)
            handle.write(b"\0" * (base - preamble))
            for name, array in arrays.items():
                handle.seek(base + starts[name])
                handle.write(np.ascontiguousarray(array).tobytes())
            handle.truncate(base + position)
        os.replace(temporary, target)

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, mmap: bool = True) -> PdqIndex:
        """Open an index written by ``save``.

        Args:
            path: the index file.
            mmap: map the file instead of reading it (instant open; pages are shared
                between processes that query the same bank).

        Returns:
            The index.

        Raises:
            ValueError: the file is not a vigil PDQ index.
        """
        with open(path, "rb") as handle:
            if handle.read(len(_MAGIC)) != _MAGIC:
                raise ValueError(f"{os.fspath(path)!r} is not a vigil PDQ index")
            length = int.from_bytes(handle.read(8), "little")
            header = json.loads(handle.read(length))
        base = -(-(len(_MAGIC) + 8 + length) // _ALIGN) * _ALIGN
        if mmap:
            raw = np.memmap(path, dtype=np.uint8, mode="r")
        else:
            raw = np.fromfile(path, dtype=np.uint8)
        arrays = {}
        for name, info in header.items():
            dtype = np.dtype(info["dtype"])
            shape = tuple(info["shape"])
            size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            start = base + info["offset"]
            arrays[name] = raw[start : start + size].view(dtype).reshape(shape)
        return cls(arrays["codes"], arrays["ids"], arrays["tables"], arrays["offsets"])
