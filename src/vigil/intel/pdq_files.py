"""The lab content index's pictures as memory-mapped PDQ index files, kept per scan.

``vigil intel`` searches a case's pictures against every other picture of the lab. The
lab store's tables are the record; this folder is a derived copy of their usable PDQ
hashes (content id and hash, quality 50 and over) in ``matching.pdq_index`` files, so a
query maps prebuilt files instead of reading and indexing every picture of the lab:

- ``segment-NNNNNN.idx``: one ``PdqIndex`` file each (ids are ``intel_contents`` ids).
- ``manifest.json``: the live segments, and ``covered``: every ``intel_contents`` row
  with an id up to it is in a segment (if its PDQ is usable), ``rows`` of them.

Each exhibit the lab index adds appends one delta segment with the contents new to the
lab (``catch_up``: the rows past ``covered``); when more than ``MAX_SEGMENTS`` pile up,
the small ones are merged into one. Contents are never removed from the lab index (only
holders are), so the files can only be a superset of what other cases hold: the caller
checks every hit's holders in the lab store, which keeps the answer exact.

A SQLite lab's folder sits beside its file (``lab.sqlite.intel``); another database's
is under ``VIGIL_HOME/index``. One writer at a time (``fcntl`` lock on the folder).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from vigil.hashing.pdq import MIN_QUALITY
from vigil.matching.pdq_index import PdqIndex
from vigil.web.labschema import intel_contents

if TYPE_CHECKING:  # links imports this module
    from vigil.intel.links import Pending

MAX_SEGMENTS = 8
_READ = 200_000  # lab-store rows read per batch when catching up
_QUERY_BLOCK = 65_536  # queries per kernel call (bounds the result buffers)
_THREADS = 2  # the kernel releases the GIL: query blocks run side by side


@dataclass(frozen=True)
class Manifest:
    """What the folder holds: segment files (name, entries), coverage of the lab store."""

    segments: tuple[tuple[str, int], ...] = ()
    covered: int = 0  # every intel_contents id <= covered is accounted for
    rows: int = 0  # how many intel_contents rows those are
    next_number: int = 1

    def to_json(self) -> str:
        """The manifest as stored."""
        return json.dumps(
            {"version": 1, "segments": [list(s) for s in self.segments],
             "covered": self.covered, "rows": self.rows, "next_number": self.next_number},
            indent=1,
        )


def folder_for(lab_url: str, home: Path) -> Path | None:
    """Where the files of the lab at ``lab_url`` live (None for an in-memory SQLite lab)."""
    if lab_url.startswith("sqlite"):
        database = lab_url.split(":///", 1)[1] if ":///" in lab_url else ""
        if not database or database == ":memory:":
            return None
        return Path(database).with_name(Path(database).name + ".intel")
    digest = hashlib.sha256(lab_url.encode("utf-8")).hexdigest()[:16]
    return Path(home) / "index" / f"intel-{digest}"


def lab_folder(lab: Engine) -> Path | None:
    """``folder_for`` the engine's URL (password left out of the digest)."""
    from vigil.home import vigil_home

    url = lab.url.render_as_string(hide_password=True)
    return folder_for(url, vigil_home() if not url.startswith("sqlite") else Path("."))


class PdqFiles:
    """The segment files of one lab's folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    # -- state ------------------------------------------------------------------

    def manifest(self) -> Manifest:
        """The current manifest (empty when the folder has none yet)."""
        try:
            data = json.loads((self.folder / "manifest.json").read_text())
        except FileNotFoundError:
            return Manifest()
        return Manifest(
            tuple((str(n), int(c)) for n, c in data["segments"]),
            int(data["covered"]), int(data["rows"]), int(data["next_number"]),
        )

    def _save(self, manifest: Manifest) -> None:
        partial = self.folder / f"manifest.json.{os.getpid()}.part"
        partial.write_text(manifest.to_json())
        os.replace(partial, self.folder / "manifest.json")

    @contextmanager
    def locked(self) -> Iterator[Manifest]:
        """Hold the folder's writer lock; yields the manifest read under it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / ".lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield self.manifest()
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- writing ----------------------------------------------------------------

    def add(
        self, manifest: Manifest, ids: np.ndarray, codes: np.ndarray, covered: int, rows: int
    ) -> Manifest:
        """Append one delta segment (call under ``locked``); merge when too many.

        Args:
            manifest: The manifest read under the lock.
            ids: Content ids of the new pictures.
            codes: Their N x 32 uint8 PDQ hashes.
            covered: The new coverage (highest lab-store id now accounted for).
            rows: How many more lab-store rows that accounts for (usable PDQ or not).

        Returns:
            The manifest now saved.
        """
        segments = list(manifest.segments)
        number = manifest.next_number
        if len(ids):
            name = f"segment-{number:06d}.idx"
            PdqIndex.write(self.folder / name, np.asarray(ids, dtype=np.int64), codes)
            segments.append((name, len(ids)))
            number += 1
        merged, number = self._merged(segments, number)
        saved = Manifest(tuple(merged), covered, manifest.rows + rows, number)
        self._save(saved)
        # Merged segments, and any left by a writer that stopped half-way.
        live = {name for name, _count in merged}
        for path in self.folder.glob("segment-*.idx"):
            if path.name not in live:
                path.unlink(missing_ok=True)
        return saved

    def _merged(
        self, segments: list[tuple[str, int]], number: int
    ) -> tuple[list[tuple[str, int]], int]:
        """Merge the smaller segments into one while there are more than MAX_SEGMENTS.

        The smallest segments are merged up to the size of the next one (each entry is
        then rewritten about log(N) times over the life of the lab, not once per scan).
        """
        if len(segments) <= MAX_SEGMENTS:
            return segments, number
        ordered = sorted(segments, key=lambda s: s[1])
        taken = ordered[:2]
        for segment in ordered[2:]:
            if segment[1] > 2 * sum(c for _n, c in taken):
                break
            taken.append(segment)
        indexes = self._loaded(taken)
        ids = np.concatenate([np.asarray(ix.ids, dtype=np.int64) for ix in indexes])
        codes = np.concatenate([np.asarray(ix.codes) for ix in indexes])
        del indexes
        name = f"segment-{number:06d}.idx"
        PdqIndex.write(self.folder / name, ids, codes)
        kept = [s for s in segments if s not in taken]
        return [*kept, (name, len(ids))], number + 1

    def catch_up(self, lab: Engine) -> Manifest:
        """Bring the files up to date with the lab store: add the rows past ``covered``.

        Every content past the lab's ``links_checked`` mark is first searched against
        the older ones and its links stored (``links.link_pending``), under the same lock.
        """
        with self.locked() as manifest:
            return self.catch_up_locked(lab, manifest)[0]

    def catch_up_locked(self, lab: Engine, manifest: Manifest) -> tuple[Manifest, Pending]:
        """``catch_up`` for a caller already holding ``locked`` (``manifest`` read under it);
        returns the manifest now saved and the search's ``links.Pending``.

        On a database whose ids may commit out of order (not SQLite), a row count that
        disagrees with the manifest rebuilds the files from the lab store.
        """
        from vigil.intel.links import link_pending

        if lab.dialect.name != "sqlite":
            with lab.connect() as conn:
                count = conn.execute(
                    select(func.count()).select_from(intel_contents)
                    .where(intel_contents.c.id <= manifest.covered)
                ).scalar_one()
            if count != manifest.rows:
                manifest = self._emptied(manifest)
        indexes = self._loaded(manifest.segments)
        pending = link_pending(lab, indexes, manifest.covered)
        del indexes
        if pending.top <= manifest.covered:
            return manifest, pending
        return self.add(manifest, pending.ids, pending.codes, pending.top, pending.rows), pending

    def _emptied(self, manifest: Manifest) -> Manifest:
        for name, _count in manifest.segments:
            (self.folder / name).unlink(missing_ok=True)
        return Manifest(next_number=manifest.next_number)

    # -- reading ----------------------------------------------------------------

    def open(self) -> list[PdqIndex]:
        """Map every live segment (under the lock, so no merge removes one meanwhile)."""
        with self.locked() as manifest:
            return self._loaded(manifest.segments)

    def _loaded(self, segments: Iterable[tuple[str, int]]) -> list[PdqIndex]:
        return [PdqIndex.load(self.folder / name) for name, _count in segments]


def usable_rows(
    conn: Connection, after: int, upto: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Ids and packed PDQ of the usable pictures with ``after < id <= upto``, and how many
    rows that id range holds in all."""
    c = intel_contents.c
    query = (
        select(c.id, c.pdq, c.pdq_quality)
        .where(c.id > after, c.id <= upto)
        .order_by(c.id)
        .execution_options(stream_results=True, yield_per=_READ)
    )
    ids: list[np.ndarray] = []
    codes: list[np.ndarray] = []
    rows = 0
    for batch in conn.execute(query).partitions(_READ):
        rows += len(batch)
        kept = [(i, p) for i, p, q in batch if p and (q or 0) >= MIN_QUALITY]
        if kept:
            ids.append(np.fromiter((i for i, _ in kept), dtype=np.int64, count=len(kept)))
            packed = bytes.fromhex("".join(p for _, p in kept))
            codes.append(np.frombuffer(packed, np.uint8).reshape(-1, 32))
    if not ids:
        return np.empty(0, np.int64), np.empty((0, 32), np.uint8), rows
    return np.concatenate(ids), np.concatenate(codes), rows


def search_all(
    indexes: list[PdqIndex], queries: np.ndarray, max_distance: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (query number, entry id, distance) within ``max_distance`` in any segment.

    Query blocks run in ``_THREADS`` threads (the search kernel releases the GIL).
    """
    jobs = [
        (index, start)
        for index in indexes
        for start in range(0, len(queries), _QUERY_BLOCK)
    ]

    def one(job: tuple[PdqIndex, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        index, start = job
        at, rows, distances = index.search_codes(
            queries[start : start + _QUERY_BLOCK], max_distance
        )
        return at + start, np.asarray(index.ids[rows], dtype=np.int64), distances

    with ThreadPoolExecutor(_THREADS) as pool:
        parts = list(pool.map(one, jobs))
    if not parts:
        empty = np.empty(0, np.int64)
        return empty, empty, empty
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))  # type: ignore[return-value]
