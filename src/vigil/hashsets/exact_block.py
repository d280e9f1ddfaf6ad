"""Exact-hash sets kept as sorted flat arrays in a folder beside the library.

A VICS file of 10M records as one SQLite row each, with MD5 and SHA-1 B-tree indexes,
costs ~25 us of random index inserts per record. As a *block* (``blocks``; kind
``exact``) its entries get the ids ``first_id .. first_id + count - 1`` and live only
in ``<home>/index/exact-set-<id>/``, as ``.npy`` files mapped by a scan:

* per algorithm present (``md5``, ``sha1``, ``sha256``): ``<alg>_key`` (the digest's first
  8 bytes as a big-endian integer, sorted), ``<alg>_digest`` (the digests, same order)
  and ``<alg>_row`` (each digest's entry row); a lookup is a binary search on the keys;
* per entry row: ``grade`` and ``category`` codes, source ``record`` number, ``size``
  (-1: none);
* ``pdq_row`` / ``pdq``: the entries with a PDQ hash (also written to the set's PDQ index
  file for perceptual matching);
* ``meta.json``: the set's identity, first id, grade and category names, and the few
  per-entry texts (``Name``, ``PhotoDNA``) by row, read only on demand.

Removing the set deletes the folder and its ``entry_block`` row.
"""

from __future__ import annotations

import json
import os
import shutil
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from vigil.hashsets.entry import HashEntry, Malformed, Truncated

# Strongest first: an entry found by several algorithms is reported under the first.
ALGORITHMS: dict[str, int] = {"sha256": 32, "sha1": 20, "md5": 16}
NO_SIZE = -1
_META = "meta.json"


def block_path(home: Path, set_id: int) -> Path:
    """The folder holding the arrays of exact-hash block set ``set_id``."""
    return Path(home) / "index" / f"exact-set-{set_id}"


@dataclass
class ExactColumns:
    """The entries of an exact-hash set as read, in source order, before sorting.

    Row ``i`` is the ``i``-th intact record. Digests are raw bytes appended to one
    buffer per algorithm, with the rows that carry them; nothing per entry is a Python
    object, so 10M entries take ~60 bytes each.
    """

    categories: dict[str | None, int] = field(default_factory=dict)
    category: array = field(default_factory=lambda: array("I"))
    record: array = field(default_factory=lambda: array("I"))
    size: array = field(default_factory=lambda: array("q"))
    digests: dict[str, bytearray] = field(
        default_factory=lambda: {name: bytearray() for name in ALGORITHMS}
    )
    rows: dict[str, array] = field(
        default_factory=lambda: {name: array("I") for name in ALGORITHMS}
    )
    pdq: bytearray = field(default_factory=bytearray)
    pdq_rows: array = field(default_factory=lambda: array("I"))
    # row -> {"name": ..., "photodna": ...}, only for the entries that have them.
    details: dict[int, dict[str, str]] = field(default_factory=dict)
    malformed: list[Malformed] = field(default_factory=list)
    malformed_count: int = 0
    truncated: Truncated | None = None

    def __len__(self) -> int:
        return len(self.record)

    def add(self, entry: HashEntry) -> None:
        """Append one entry as the reference reader built it (any format's ``read``)."""
        row = len(self.record)
        for name, value in (("md5", entry.md5), ("sha1", entry.sha1), ("sha256", entry.sha256)):
            if value:
                self.digests[name] += bytes.fromhex(value)
                self.rows[name].append(row)
        if entry.pdq:
            self.pdq += bytes.fromhex(entry.pdq)
            self.pdq_rows.append(row)
        texts = {"name": entry.name, "photodna": entry.photodna}
        if any(texts.values()):
            self.details[row] = {key: value for key, value in texts.items() if value}
        category = entry.category
        self.category.append(self.categories.setdefault(category, len(self.categories)))
        self.size.append(NO_SIZE if entry.size is None else entry.size)
        self.record.append(entry.record)

    def add_malformed(self, item: Malformed, samples: int) -> None:
        """Count a malformed record, keeping the first ``samples`` of them."""
        self.malformed_count += 1
        if len(self.malformed) < samples:
            self.malformed.append(item)

    def category_codes(self) -> np.ndarray:
        """Each row's index into ``category_names``."""
        return np.frombuffer(self.category, dtype=np.uint32)

    @property
    def category_names(self) -> list[str | None]:
        """The source categories, by code."""
        return list(self.categories)


def collect(
    records: object, samples: int, progress: object = None, every: int = 100_000
) -> ExactColumns:
    """Gather any reader's ``HashEntry | Malformed | Truncated`` stream into columns."""
    columns = ExactColumns()
    for number, item in enumerate(records, 1):  # type: ignore[call-overload]
        if isinstance(item, Truncated):
            columns.truncated = item
            break
        if isinstance(item, Malformed):
            columns.add_malformed(item, samples)
        else:
            columns.add(item)
        if progress is not None and number % every == 0:
            progress(number)  # type: ignore[operator]
    return columns


def _keys(digests: np.ndarray) -> np.ndarray:
    return digests[:, :8].copy().view(">u8").ravel().astype(np.uint64)


def write(
    home: Path,
    identity: dict[str, object],
    columns: ExactColumns,
    first: int,
    grade_of: np.ndarray,
    grades: list[str | None],
) -> Path:
    """Write the folder of a block set (under a temporary name, then renamed); empties
    ``columns`` on the way, to keep memory down.

    Args:
        home: The library folder.
        identity: The set's import (``SetIdentity.meta()``), checked when opened.
        columns: The entries.
        first: The id of row 0.
        grade_of: Per source-category code, the index of its grade in ``grades``.
        grades: Grade names (None: no grade).

    Returns:
        The folder.

    Raises:
        OSError: It cannot be written.
    """
    target = block_path(home, int(identity["set_id"]))  # type: ignore[call-overload]
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f"{target.name}.{os.getpid()}.part")
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir()
    try:
        count = len(columns)
        codes = columns.category_codes()
        _save(temporary, "grade", grade_of[codes])
        _save(temporary, "category", codes.astype(np.uint16 if len(columns.categories) < 2**16
                                                  else np.uint32))
        del codes
        _save(temporary, "record", np.frombuffer(columns.record, np.uint32))
        _save(temporary, "size", np.frombuffer(columns.size, np.int64))
        _save(temporary, "pdq_row", np.frombuffer(columns.pdq_rows, np.uint32))
        _save(temporary, "pdq", np.frombuffer(columns.pdq, np.uint8).reshape(-1, 32))
        # Written: free the per-row buffers before the sorts (a 10M set stays < 1 GB).
        columns.category, columns.record, columns.size = array("I"), array("I"), array("q")
        present = []
        for name, width in ALGORITHMS.items():
            rows = np.frombuffer(columns.rows[name], np.uint32)
            if not len(rows):
                continue
            present.append(name)
            digests = np.frombuffer(columns.digests[name], np.uint8).reshape(-1, width)
            keys = _keys(digests)
            # Stable: equal digests keep source order, as the rows' id order did.
            order = np.argsort(keys, kind="stable")
            _save_sorted(temporary, f"{name}_key", keys, order)
            del keys
            _save_sorted(temporary, f"{name}_row", rows, order)
            _save_sorted(temporary, f"{name}_digest", digests, order)
            del order, rows, digests
            # Not needed again: free them before the next algorithm's sort.
            columns.digests[name] = bytearray()
            columns.rows[name] = array("I")
        meta = {
            **identity,
            "first_id": first,
            "count": count,
            "grades": grades,
            "categories": columns.category_names,
            "algorithms": present,
            "details": {str(row): texts for row, texts in columns.details.items()},
        }
        (temporary / _META).write_text(json.dumps(meta))
        shutil.rmtree(target, ignore_errors=True)
        os.replace(temporary, target)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return target


def _save(folder: Path, name: str, values: np.ndarray) -> None:
    with open(folder / f"{name}.npy", "wb") as handle:
        np.save(handle, np.ascontiguousarray(values))
        handle.flush()
        os.fsync(handle.fileno())


def _save_sorted(folder: Path, name: str, values: np.ndarray, order: np.ndarray) -> None:
    """Save ``values[order]`` a slice at a time (no second full-size copy in memory)."""
    path = folder / f"{name}.npy"
    out = np.lib.format.open_memmap(path, mode="w+", dtype=values.dtype, shape=values.shape)
    step = 1 << 20
    for start in range(0, len(order), step):
        out[start : start + step] = values[order[start : start + step]]
    out.flush()
    del out
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def remove(home: Path, set_id: int) -> None:
    """Delete the folder of a removed set (no error if there is none)."""
    shutil.rmtree(block_path(home, set_id), ignore_errors=True)


class ExactBlock:
    """One block set's arrays, memory-mapped: exact lookups and entries on demand."""

    def __init__(self, folder: Path, meta: dict[str, object]) -> None:
        """Use ``open_block``."""
        self.folder = folder
        self.meta = meta
        self.first_id = int(meta["first_id"])  # type: ignore[call-overload]
        self.count = int(meta["count"])  # type: ignore[call-overload]
        self.grades: tuple[str | None, ...] = tuple(meta["grades"])  # type: ignore[arg-type]
        self._grade = self._array("grade")
        self._tables = {
            name: (self._array(f"{name}_key"), self._array(f"{name}_digest"),
                   self._array(f"{name}_row"))
            for name in meta["algorithms"]  # type: ignore[attr-defined]
        }

    def _array(self, name: str) -> np.ndarray:
        return np.load(self.folder / f"{name}.npy", mmap_mode="r")

    def lookup(self, algorithm: str, digest: bytes) -> list[int]:
        """The rows whose ``algorithm`` digest equals ``digest``, in source order."""
        table = self._tables.get(algorithm)
        if table is None or len(digest) != ALGORITHMS[algorithm]:
            return []
        keys, digests, rows = table
        key = np.uint64(int.from_bytes(digest[:8], "big"))
        position = int(np.searchsorted(keys, key))
        found = []
        while position < len(keys) and keys[position] == key:
            if digests[position].tobytes() == digest:
                found.append(int(rows[position]))
            position += 1
        return found

    def grade_of(self, row: int) -> str | None:
        """The grade of the entry at ``row``."""
        return self.grades[int(self._grade[row])]

    @cached_property
    def details(self) -> dict[str, dict[str, str]]:
        """Name and PhotoDNA texts by row (as text), for the entries that have them."""
        return self.meta["details"]  # type: ignore[return-value]

    def pdq_entries(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(ids, codes, grade_codes)`` of the entries with a PDQ hash."""
        rows = self._array("pdq_row").astype(np.int64)
        codes = np.ascontiguousarray(self._array("pdq"))
        ids = (rows + self.first_id).astype(np.uint32 if self.first_id + self.count < 2**32
                                            else np.int64)
        return ids, codes, np.asarray(self._grade[rows])

    def entry(self, row: int) -> HashEntry:
        """The entry at ``row`` as the reader built it (searches whole arrays: for few rows)."""
        return next(self.entries([row]))

    def entries(self, rows: list[int] | None = None) -> Iterator[HashEntry]:
        """The entries at ``rows`` (every row for None), as the reader built them."""
        wanted = np.arange(self.count) if rows is None else np.asarray(rows, dtype=np.int64)
        hexes: dict[str, dict[int, str]] = {name: {} for name in ALGORITHMS}
        tables = {name: (digests, table_rows) for name, (_, digests, table_rows)
                  in self._tables.items()}
        tables["pdq"] = (self._array("pdq"), self._array("pdq_row"))
        hexes["pdq"] = {}
        for name, (digests, table_rows) in tables.items():
            [hits] = np.nonzero(np.isin(table_rows, wanted))
            for position in hits.tolist():
                hexes[name][int(table_rows[position])] = digests[position].tobytes().hex()
        categories = self.meta["categories"]
        sizes, codes, records = self._array("size"), self._array("category"), self._array("record")
        for row in wanted.tolist():
            size = int(sizes[row])
            texts = self.details.get(str(row), {})
            yield HashEntry(
                md5=hexes["md5"].get(row),
                sha1=hexes["sha1"].get(row),
                sha256=hexes["sha256"].get(row),
                size=None if size == NO_SIZE else size,
                name=texts.get("name"),
                category=categories[int(codes[row])],  # type: ignore[index]
                photodna=texts.get("photodna"),
                pdq=hexes["pdq"].get(row),
                record=int(records[row]),
            )


def open_block(home: Path, identity: dict[str, object]) -> ExactBlock | None:
    """Map the folder of one block set, or None when missing or from another import."""
    folder = block_path(home, int(identity["set_id"]))  # type: ignore[call-overload]
    try:
        meta = json.loads((folder / _META).read_text())
    except (OSError, ValueError):
        return None
    if {key: meta.get(key) for key in identity} != identity:
        return None
    return ExactBlock(folder, meta)
