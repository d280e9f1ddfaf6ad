"""The hash-set library: import hash-set files into one SQLite index, list and remove them."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from vigil.errors import HashSetFormatError, StoreError, UsageError
from vigil.hashsets import blocks, exact_block, formats
from vigil.hashsets.entry import HashEntry, Malformed, Truncated
from vigil.hashsets.schemes import CategoryPolicy, category_policy, load_scheme
from vigil.hashsets.store_schema import SCHEMA_VERSION, create_schema
from vigil.model import FrameHash

if TYPE_CHECKING:
    from vigil.matching.pdq_bank import SetBank, SetIdentity

LIBRARY_FILE = "library.sqlite"
MALFORMED_SAMPLES = 20
_BATCH = 10_000
_PDQ_FETCH = 65_536
# Page cache of an import or removal (KiB): the hash indexes of a 10M-entry set must
# stay in memory, or every insert into them is a random read.
_BULK_CACHE_KIB = 262_144
_NO_CATEGORY = blocks.NO_CATEGORY

_INSERT_ENTRY = (
    "INSERT INTO entry (id, hashset_id, md5, sha1, sha256, size, name, category, grade, "
    "photodna, pdq, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_ENTRY_FIELDS = "md5, sha1, sha256, size, name, category, photodna, pdq, record, grade"
_JOINED_ENTRY_FIELDS = ", ".join(f"e.{column}" for column in _ENTRY_FIELDS.split(", "))
_SET_COLUMNS = (
    "id, name, format, scheme, known_good, entries, malformed, unmapped, categories, "
    "mapping, mapping_note, header, source_path, source_sha256, imported_at, damage"
)


def default_home() -> Path:
    """Return vigil's data folder: ``$VIGIL_HOME``, else ``~/.local/share/vigil``."""
    env = os.environ.get("VIGIL_HOME")
    return Path(env) if env else Path.home() / ".local" / "share" / "vigil"


@dataclass(frozen=True)
class ImportResult:
    """What one import did, for the CLI to show."""

    name: str
    format: str
    entries: int
    malformed: int
    malformed_samples: list[Malformed]
    mapping_note: str
    unmapped: int
    source_sha256: str
    known_good: bool
    truncated: Truncated | None = None

    @property
    def partial(self) -> bool:
        """Some records of the file could not be imported (malformed or cut off)."""
        return bool(self.malformed or self.truncated)


@dataclass(frozen=True)
class HashSetInfo:
    """One set as recorded in the library.

    ``categories`` has two maps: ``source`` (count per raw source category) and
    ``grade`` (count per grade code); entries without one are counted under ``none``.
    ``mapping`` is source category to grade code (None = uncategorised).
    """

    id: int
    name: str
    format: str
    scheme: str
    known_good: bool
    entries: int
    malformed: int
    unmapped: int
    categories: dict[str, dict[str, int]]
    mapping: dict[str, str | None]
    mapping_note: str
    header: dict[str, object]
    source_path: str
    source_sha256: str
    imported_at: str
    # Where the file was damaged: {"truncated": {"record", "reason"} | None,
    # "malformed": [{"record", "reason"}, ...] (the first 20)}; empty when intact.
    damage: dict[str, object] = field(default_factory=dict)
    partial: bool = False


@dataclass
class _Tally:
    entries: int = 0
    records: int = 0
    unmapped: int = 0
    malformed: list[Malformed] = field(default_factory=list)
    malformed_count: int = 0
    source: Counter[str] = field(default_factory=Counter)
    grade: Counter[str] = field(default_factory=Counter)
    truncated: Truncated | None = None

    @classmethod
    def of_damage(cls, columns: Any) -> _Tally:
        """A tally holding only what a block reader found wrong (its malformed lines and
        where the file was cut); the entries are counted when the block is written."""
        return cls(
            malformed=columns.malformed,
            malformed_count=columns.malformed_count,
            truncated=columns.truncated,
        )

    def damage(self) -> str:
        """The ``damage`` column: JSON of where the file broke, '' when intact."""
        if not (self.truncated or self.malformed_count):
            return ""
        cut = self.truncated
        return json.dumps(
            {
                "truncated": {"record": cut.record, "reason": cut.reason} if cut else None,
                "malformed": [{"record": m.record, "reason": m.reason} for m in self.malformed],
            }
        )


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _blob(hex_digest: str | None) -> bytes | None:
    return bytes.fromhex(hex_digest) if hex_digest else None


def library_state(home: Path) -> list[list[int]]:
    """Size and change time of the library's files under ``home`` (its WAL too): what
    changes when a set is imported, removed or fed by a review grade."""
    state = []
    for name in (LIBRARY_FILE, LIBRARY_FILE + "-wal"):
        try:
            info = (Path(home) / name).stat()
        except OSError:
            continue
        state.append([info.st_size, info.st_mtime_ns])
    return state


class HashSetLibrary:
    """All imported hash sets, in one SQLite file (WAL mode) under ``home``."""

    def __init__(self, home: Path | None = None) -> None:
        """Open (creating if needed) the library.

        Args:
            home: The folder holding ``library.sqlite``; default ``default_home()``.

        Raises:
            StoreError: If the folder or database cannot be created or opened.
        """
        self.home = Path(home) if home is not None else default_home()
        self.path = self.home / LIBRARY_FILE
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            with self._connect() as connection:
                version = connection.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise StoreError(
                        f"{self.path}: library schema {version} is newer than this vigil "
                        f"({SCHEMA_VERSION})"
                    )
                connection.execute("PRAGMA journal_mode = WAL")
                create_schema(connection)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"{self.path}: cannot open the hash-set library: {exc}") from exc

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            connection = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot open the hash-set library: {exc}") from exc
        with closing(connection):
            # In WAL mode NORMAL is crash-safe; it skips an fsync per commit.
            connection.execute("PRAGMA synchronous = NORMAL")
            yield connection

    def import_file(
        self,
        path: Path,
        name: str,
        fmt: str = "auto",
        scheme: str = "projectvic",
        category_map: str | None = None,
        known_good: bool | None = None,
        grade: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> ImportResult:
        """Import a hash-set file as a new named set, all or nothing.

        Args:
            path: The hash-set file.
            name: The name the set gets in the library (must be new).
            fmt: A registered format name, or ``auto`` to detect it.
            scheme: The grading scheme (``projectvic`` or ``uk``).
            category_map: ``--category-map`` spec, e.g. ``1=A,2=B,3=C,0=none``.
            known_good: Whether matches mean "known good, drop"; default True for NSRL
                and for EnCase sets whose header category is ``Known``, else False.
            grade: One grade code for every entry (formats without categories).
            progress: Called with the number of records read so far, once per batch.

        Returns:
            The import summary.

        Raises:
            UsageError: Bad name, missing file, unknown format or scheme, name taken, or a
                category mapping problem.
            HashSetFormatError: The file is not in the format named or detected; the
                library is then unchanged.
            StoreError: The library cannot be written.
        """
        path = Path(path)
        if not name or not name.strip():
            raise UsageError("a hash set needs a non-empty name")
        if not path.is_file():
            raise UsageError(f"{path}: no such hash-set file")
        grading = load_scheme(scheme)
        if fmt != "auto" and fmt not in formats.FORMATS and fmt not in formats.FAMILIES:
            known = ", ".join(["auto", *formats.FORMATS, *formats.FAMILIES])
            raise UsageError(f"unknown hash-set format {fmt!r} (known: {known})")
        if fmt == "auto":
            fmt_name = formats.detect(path)
        elif fmt in formats.FAMILIES:
            fmt_name = formats.detect(path, formats.FAMILIES[fmt])
        else:
            fmt_name = fmt
        module = formats.get(fmt_name)
        header = module.header(path) if hasattr(module, "header") else {}
        if known_good is None:
            known_good = _default_known_good(module, header)
        policy = category_policy(
            grading, module.HAS_CATEGORIES, fmt_name, category_map=category_map, grade=grade
        )
        note = policy.note
        if known_good:
            note = f"known-good set (matches mark files as known, not graded); {note}"
        if name in {info.name for info in self.list()}:
            raise UsageError(f"a hash set named {name!r} already exists; remove it first")
        source_sha256 = _file_sha256(path)
        imported_at = datetime.now(UTC).isoformat(timespec="seconds")
        columnar = getattr(module, "read_columns", None)
        exact = getattr(module, "EXACT_BLOCK", False)
        index_written = False
        with self._connect() as connection:
            try:
                connection.execute(f"PRAGMA cache_size = -{_BULK_CACHE_KIB}")
                connection.execute("BEGIN IMMEDIATE")
                set_id = connection.execute(
                    "INSERT INTO hashset (name, format, scheme, known_good, mapping, "
                    "mapping_note, header, source_path, source_sha256, imported_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        name,
                        fmt_name,
                        grading.name,
                        int(known_good),
                        json.dumps(policy.mapping),
                        note,
                        json.dumps(header, default=str),
                        str(path.resolve()),
                        source_sha256,
                        imported_at,
                    ),
                ).lastrowid
                identity = _identity_of(set_id, name, source_sha256, imported_at)
                if columnar is not None:
                    tally = self._load_block(connection, identity, columnar, path, policy, progress)
                    index_written = True
                elif exact:
                    index_written = True
                    tally = self._load_exact(connection, identity, module, path, policy, progress)
                else:
                    tally = _load_entries(
                        connection, set_id, module.read(path), policy, progress
                    )
                if tally.truncated is not None and not tally.entries:
                    raise HashSetFormatError(
                        f"{path}: nothing intact to import: at record "
                        f"{tally.truncated.record}, {tally.truncated.reason}"
                    )
                connection.execute(
                    "UPDATE hashset SET entries = ?, malformed = ?, unmapped = ?, categories = ?, "
                    "damage = ? WHERE id = ?",
                    (
                        tally.entries,
                        tally.malformed_count,
                        tally.unmapped,
                        json.dumps({"source": tally.source, "grade": tally.grade}),
                        tally.damage(),
                        set_id,
                    ),
                )
                connection.execute("COMMIT")
            except sqlite3.IntegrityError as exc:
                connection.execute("ROLLBACK")
                raise UsageError(f"a hash set named {name!r} already exists: {exc}") from exc
            except sqlite3.Error as exc:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise StoreError(f"{self.path}: cannot write the hash-set library: {exc}") from exc
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                if index_written:
                    from vigil.matching.pdq_bank import remove_set_index

                    remove_set_index(self.home, set_id)
                    exact_block.remove(self.home, set_id)
                raise
        if not index_written:
            self.build_pdq_index(self.get(name))
        return ImportResult(
            name=name,
            format=fmt_name,
            entries=tally.entries,
            malformed=tally.malformed_count,
            malformed_samples=tally.malformed,
            mapping_note=note,
            unmapped=tally.unmapped,
            source_sha256=source_sha256,
            known_good=known_good,
            truncated=tally.truncated,
        )

    def put_entries(
        self,
        name: str,
        fmt: str,
        scheme: str,
        entries: Iterable[tuple[HashEntry, str | None]],
        note: str = "",
    ) -> HashSetInfo:
        """Add or replace entries of a set kept by vigil itself (the lab bank), by SHA-256.

        The set is created on first use. Each entry replaces the set's entries of the
        same SHA-256; a grade of None only removes them. The set's fingerprint
        (``source_sha256``) then changes, so its PDQ index is rebuilt by the next scan
        (``pdq_banks``) instead of on this call.

        Args:
            name: The set's name.
            fmt: Its format tag (e.g. ``lab-review``); an imported set of that name is
                refused.
            scheme: Its grading scheme; grades are codes of it.
            entries: ``(entry, grade)`` pairs; every entry has a SHA-256.
            note: The set's mapping note, shown by ``vigil hashset list``.

        Returns:
            The set's record after the change.

        Raises:
            UsageError: If a set of that name exists with another format or scheme.
            StoreError: The library cannot be written.
        """
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._connect() as connection:
            try:
                connection.execute("BEGIN IMMEDIATE")
                row = connection.execute(
                    "SELECT id, format, scheme FROM hashset WHERE name = ?", (name,)
                ).fetchone()
                if row is None:
                    set_id = connection.execute(
                        "INSERT INTO hashset (name, format, scheme, known_good, mapping_note, "
                        "source_path, source_sha256, imported_at) VALUES (?, ?, ?, 0, ?, ?, '', ?)",
                        (name, fmt, scheme, note, fmt, now),
                    ).lastrowid
                elif (row[1], row[2]) != (fmt, scheme):
                    raise UsageError(
                        f"hash set {name!r} is a {row[1]} set in scheme {row[2]}, "
                        f"not a {fmt} set in scheme {scheme}"
                    )
                else:
                    set_id = row[0]
                # Ids are handed out here, not by SQLite: a block set may own ids above
                # max(id) (``blocks.next_entry_id``).
                next_id = blocks.next_entry_id(connection)
                for entry, grade in entries:
                    key = (set_id, _blob(entry.sha256))
                    old = "SELECT id FROM entry WHERE hashset_id = ? AND sha256 = ?"
                    connection.execute(f"DELETE FROM suppressed WHERE entry_id IN ({old})", key)
                    connection.execute("DELETE FROM entry WHERE hashset_id = ? AND sha256 = ?", key)
                    if grade is not None:
                        connection.execute(
                            _INSERT_ENTRY,
                            (
                                next_id,
                                set_id,
                                _blob(entry.md5),
                                _blob(entry.sha1),
                                _blob(entry.sha256),
                                entry.size,
                                entry.name,
                                entry.category,
                                grade,
                                entry.photodna,
                                _blob(entry.pdq),
                                entry.record,
                            ),
                        )
                        next_id += 1
                self._refresh_tally(connection, set_id, now)
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        return self.get(name)

    def _refresh_tally(self, connection: sqlite3.Connection, set_id: int, now: str) -> None:
        # Counts, categories and a fingerprint of the entries as they now stand.
        rows = connection.execute(
            "SELECT id, sha256, grade, pdq FROM entry WHERE hashset_id = ? ORDER BY id", (set_id,)
        ).fetchall()
        grades = Counter(g if g is not None else _NO_CATEGORY for _i, _s, g, _p in rows)
        digest = hashlib.sha256(repr(rows).encode()).hexdigest()
        connection.execute(
            "UPDATE hashset SET entries = ?, categories = ?, mapping = ?, source_sha256 = ?, "
            "imported_at = ? WHERE id = ?",
            (
                len(rows),
                json.dumps({"source": grades, "grade": grades}),
                json.dumps({g: g for g in grades if g != _NO_CATEGORY}),
                digest,
                now,
                set_id,
            ),
        )
    def _load_block(
        self,
        connection: sqlite3.Connection,
        identity: SetIdentity,
        read_columns: Callable[..., object],
        path: Path,
        policy: CategoryPolicy,
        progress: Callable[[int], None] | None,
    ) -> _Tally:
        """Import a PDQ list as a block: its entries only in its index file (``blocks``)."""
        columns = read_columns(path, MALFORMED_SAMPLES, progress)
        tally = _Tally.of_damage(columns)
        if not len(columns):
            return tally
        try:
            counts = blocks.write_block(connection, self.home, identity, columns, policy)
        except OSError as exc:
            message = f"{self.home}: cannot write the PDQ index of {identity.name!r}: {exc}"
            raise StoreError(message) from exc
        tally.entries = tally.records = counts.entries
        tally.unmapped, tally.source, tally.grade = counts.unmapped, counts.source, counts.grade
        return tally

    def _load_exact(
        self,
        connection: sqlite3.Connection,
        identity: SetIdentity,
        module: ModuleType,
        path: Path,
        policy: CategoryPolicy,
        progress: Callable[[int], None] | None,
    ) -> _Tally:
        """Import an exact-hash set as a block: sorted hash arrays (``exact_block``), its
        PDQ entries in its PDQ index file, one ``entry_block`` row."""
        reader = getattr(module, "read_exact", None)
        if reader is not None:
            columns = reader(path, MALFORMED_SAMPLES, progress)
        else:
            columns = exact_block.collect(module.read(path), MALFORMED_SAMPLES, progress)
        tally = _Tally.of_damage(columns)
        if not len(columns):
            return tally
        per_category = np.bincount(columns.category_codes(), minlength=len(columns.categories))
        counts, grading = blocks.grade_categories(columns.category_names, per_category, policy)
        grades = list(dict.fromkeys(grading.values()))
        grade_of = np.array([grades.index(g) for g in grading.values()], dtype=np.uint8)
        first = blocks.next_entry_id(connection)
        try:
            exact_block.write(self.home, identity.meta(), columns, first, grade_of, grades)
            block = exact_block.open_block(self.home, identity.meta())
            if block is None:
                raise OSError("the written arrays cannot be read back")
            self._write_exact_pdq(identity, block)
        except OSError as exc:
            message = f"{self.home}: cannot write the hash arrays of {identity.name!r}: {exc}"
            raise StoreError(message) from exc
        blocks.record_block(
            connection, identity.set_id, first, counts.entries, grading, blocks.EXACT
        )
        tally.entries = tally.records = counts.entries
        tally.unmapped, tally.source, tally.grade = counts.unmapped, counts.source, counts.grade
        return tally

    def _write_exact_pdq(self, identity: SetIdentity, block: exact_block.ExactBlock) -> None:
        """Write the PDQ index file of an exact-hash block from its PDQ entries."""
        from vigil.matching.pdq_bank import write_set_index

        ids, codes, grade_codes = block.pdq_entries()
        write_set_index(self.home, identity, ids, codes, grade_codes, list(block.grades))

    def exact_blocks(self, infos: Iterable[HashSetInfo]) -> dict[int, exact_block.ExactBlock]:
        """The mapped hash arrays of each exact-hash block set among ``infos``, by set id.

        Raises:
            StoreError: A block set's arrays are missing or from another import.
        """
        with self._connect() as connection:
            exact_sets = blocks.exact_blocks(connection)
        found = {}
        for info in infos:
            if info.id in exact_sets:
                found[info.id] = self._exact_block(info)
        return found

    def _exact_block(self, info: HashSetInfo) -> exact_block.ExactBlock:
        block = exact_block.open_block(self.home, _identity(info).meta())
        if block is None:
            raise StoreError(
                f"{self.home}: the hash arrays of {info.name!r} (which hold its entries) are "
                "missing or from another import; remove the set and import it again"
            )
        return block

    def entry(self, entry_id: int) -> tuple[str, HashEntry, str | None] | None:
        """One entry of any set (a row or a block's): ``(set name, entry, grade)``.

        Returns:
            None when no set has that entry; a PDQ block's entry has its PDQ hash,
            category and record only.
        """
        with self._connect() as connection:
            row = connection.execute(
                f"SELECT s.name, {_JOINED_ENTRY_FIELDS} "
                "FROM entry e JOIN hashset s ON s.id = e.hashset_id WHERE e.id = ?",
                (entry_id,),
            ).fetchone()
            ranges = blocks.blocks(connection)
            exact_sets = blocks.exact_blocks(connection)
        if row is not None:
            return row[0], *_row_entry(row[1:])
        for set_id, (first, count) in ranges.items():
            if first <= entry_id < first + count:
                info = next(i for i in self.list() if i.id == set_id)
                if set_id in exact_sets:
                    block = self._exact_block(info)
                    return info.name, block.entry(entry_id - first), block.grade_of(
                        entry_id - first
                    )
                for bank in self.pdq_banks([info]):
                    [rows] = np.nonzero(bank.index.ids.astype(np.int64) == entry_id)
                    if len(rows):
                        return info.name, *self._pdq_row_entry(bank, int(rows[0]))
        return None

    def block_photodna(self, entry_ids: Iterable[int]) -> dict[int, str]:
        """PhotoDNA values of exact-hash block entries among ``entry_ids`` (for exports)."""
        with self._connect() as connection:
            ranges = blocks.blocks(connection)
            exact_sets = blocks.exact_blocks(connection)
        infos = {info.id: info for info in self.list() if info.id in exact_sets}
        found: dict[int, str] = {}
        for set_id, info in infos.items():
            first, count = ranges[set_id]
            rows = [i - first for i in entry_ids if first <= i < first + count]
            if rows:
                details = self._exact_block(info).details
                for row in rows:
                    if value := details.get(str(row), {}).get("photodna"):
                        found[first + row] = value
        return found

    def entries(self, name: str) -> Iterator[tuple[int, HashEntry, str | None]]:
        """Every entry of one set in id order, ``(entry id, entry, grade)``, from its rows or
        its block (a PDQ block's entries have their PDQ hash, category and record only).

        Raises:
            UsageError: If there is no such set.
        """
        info = self.get(name)
        with self._connect() as connection:
            first, _count = blocks.blocks(connection).get(info.id, (0, 0))
            exact_sets = blocks.exact_blocks(connection)
            rows = connection.execute(
                f"SELECT id, {_ENTRY_FIELDS} FROM entry WHERE hashset_id = ? ORDER BY id",
                (info.id,),
            ).fetchall()
        for entry_id, *fields in rows:
            yield entry_id, *_row_entry(fields)
        if info.id in exact_sets:
            block = self._exact_block(info)
            for row, entry in enumerate(block.entries()):
                yield first + row, entry, block.grade_of(row)
        elif first:
            for bank in self.pdq_banks([info]):
                for row in np.argsort(bank.index.ids, kind="stable").tolist():
                    yield int(bank.index.ids[row]), *self._pdq_row_entry(bank, row)

    def _pdq_row_entry(self, bank: SetBank, row: int) -> tuple[HashEntry, str | None]:
        extras = bank.index.extras
        entry = HashEntry(
            None, None, None, category=bank.index.meta["categories"][int(extras["category"][row])],
            pdq=bank.index.codes[row].tobytes().hex(), record=int(extras["record"][row]),
        )
        return entry, bank.grade_of(row)

    def _rebuild_block(self, info: HashSetInfo) -> bool:
        """Write a block set's lost index file again from its source, if that is unchanged."""
        source = Path(info.source_path)
        if not source.is_file() or _file_sha256(source) != info.source_sha256:
            return False
        with self._connect() as connection:
            first, count = blocks.blocks(connection)[info.id]
            grading = blocks.grading_of(connection, info.id)
        columns = formats.get(info.format).read_columns(source)
        if len(columns) != count or not set(columns.categories) <= set(grading):
            return False
        try:
            blocks.write_index(self.home, _identity(info), columns, first, grading)
        except OSError as exc:
            message = f"{self.home}: cannot write the PDQ index of {info.name!r}: {exc}"
            raise StoreError(message) from exc
        return True

    def list(self) -> list[HashSetInfo]:
        """Return every set in the library, by name."""
        with self._connect() as connection:
            rows = connection.execute(
                f"SELECT {_SET_COLUMNS} FROM hashset ORDER BY name"
            ).fetchall()
        return [_info(row) for row in rows]

    def get(self, name: str) -> HashSetInfo:
        """Return one set's record.

        Args:
            name: The set name.

        Returns:
            The set's recorded fields.

        Raises:
            UsageError: If there is no such set.
        """
        with self._connect() as connection:
            row = connection.execute(
                f"SELECT {_SET_COLUMNS} FROM hashset WHERE name = ?", (name,)
            ).fetchone()
        if row is None:
            raise UsageError(f"no hash set named {name!r} in {self.path}")
        return _info(row)

    def remove(self, name: str) -> None:
        """Remove a set and all its entries.

        Args:
            name: The set name.

        Raises:
            UsageError: If there is no such set.
        """
        info = self.get(name)
        with self._connect() as connection:
            connection.execute(f"PRAGMA cache_size = -{_BULK_CACHE_KIB}")
            connection.execute("BEGIN IMMEDIATE")
            try:
                block = blocks.blocks(connection).get(info.id)
                if block is not None:
                    first, count = block
                    connection.execute(
                        "DELETE FROM suppressed WHERE entry_id BETWEEN ? AND ?",
                        (first, first + count - 1),
                    )
                    connection.execute("DELETE FROM entry_block WHERE hashset_id = ?", (info.id,))
                for table in ("video_frame", "suppressed"):
                    connection.execute(
                        f"DELETE FROM {table} WHERE entry_id IN "
                        "(SELECT id FROM entry WHERE hashset_id = ?)",
                        (info.id,),
                    )
                connection.execute("DELETE FROM entry WHERE hashset_id = ?", (info.id,))
                connection.execute("DELETE FROM hashset WHERE id = ?", (info.id,))
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        from vigil.matching.lab_regions import region_paths
        from vigil.matching.pdq_bank import remove_set_index

        remove_set_index(self.home, info.id)
        exact_block.remove(self.home, info.id)
        for path in region_paths(self.home, name):
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()

    def pdq_arrays(
        self, set_id: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str | None]]:
        """Every PDQ entry of one set as flat arrays, for building its index.

        Suppressed entries are included (the matcher drops them), so suppressing one
        does not change the index.

        Args:
            set_id: The set's id.

        Returns:
            ``(ids, codes, grade_codes, grades)``: entry ids, N x 32 uint8 hashes, and
            per entry an index into ``grades`` (grade names, None for no grade).
        """
        query = "FROM entry WHERE hashset_id = ? AND pdq IS NOT NULL"
        with self._connect() as connection:
            count, last = connection.execute(
                f"SELECT count(*), max(id) {query}", (set_id,)
            ).fetchone()
            ids = np.empty(count, dtype=np.uint32 if (last or 0) < 2**32 else np.int64)
            codes = np.empty((count, 32), dtype=np.uint8)
            grade_codes = np.empty(count, dtype=np.uint8)
            names: dict[str | None, int] = {}
            cursor = connection.execute(f"SELECT id, pdq, grade {query}", (set_id,))
            done = 0
            while rows := cursor.fetchmany(_PDQ_FETCH):
                end = done + len(rows)
                batch_ids, hashes, grades = zip(*rows, strict=True)
                ids[done:end] = batch_ids
                codes[done:end] = np.frombuffer(b"".join(hashes), np.uint8).reshape(-1, 32)
                grade_codes[done:end] = [names.setdefault(g, len(names)) for g in grades]
                done = end
        if len(names) > 255:
            raise StoreError(f"{self.path}: set {set_id} has more than 255 grades")
        return ids[:done], codes[:done], grade_codes[:done], list(names)

    def build_pdq_index(self, info: HashSetInfo) -> None:
        """Write the PDQ index file of one set (done by ``import_file``).

        Raises:
            StoreError: The index cannot be written.
        """
        from vigil.matching.pdq_bank import write_set_index

        ids, codes, grade_codes, grades = self.pdq_arrays(info.id)
        try:
            write_set_index(self.home, _identity(info), ids, codes, grade_codes, grades)
        except OSError as exc:
            message = f"{self.home}: cannot write the PDQ index of {info.name!r}: {exc}"
            raise StoreError(message) from exc

    def pdq_banks(self, infos: Iterable[HashSetInfo]) -> list[SetBank]:
        """The memory-mapped PDQ index of each set, rebuilt first if missing or stale.

        A library imported by an older vigil has no index files yet: the first scan
        builds them (once; later scans and every worker only map them).
        """
        from vigil.matching.pdq_bank import open_set_index

        banks = []
        with self._connect() as connection:
            exact_sets = blocks.exact_blocks(connection)
            block_sets = set(blocks.blocks(connection)) - exact_sets
        for info in infos:
            bank = open_set_index(self.home, _identity(info), info.known_good)
            if bank is None and info.id in exact_sets:
                self._write_exact_pdq(_identity(info), self._exact_block(info))
                bank = open_set_index(self.home, _identity(info), info.known_good)
            if bank is None and info.id in block_sets and self._rebuild_block(info):
                bank = open_set_index(self.home, _identity(info), info.known_good)
            if bank is None and info.id in block_sets:
                raise StoreError(
                    f"{self.home}: the PDQ index file of {info.name!r} (which holds its "
                    "entries) is missing or from another import, and its source file is gone "
                    "or changed; remove the set and import it again"
                )
            if bank is None:
                self.build_pdq_index(info)
                bank = open_set_index(self.home, _identity(info), info.known_good)
            if bank is None:
                raise StoreError(f"{self.home}: the PDQ index of {info.name!r} is unreadable")
            if len(bank.index):
                banks.append(bank)
        return banks

    def entry_ids(self, name: str, sha256s: Iterable[str]) -> dict[str, int]:
        """The entry id of each SHA-256 (hex) that set ``name`` holds.

        Raises:
            UsageError: If there is no such set.
        """
        info = self.get(name)
        found = {}
        with self._connect() as connection:
            for sha256 in sorted(set(sha256s)):
                row = connection.execute(
                    "SELECT id FROM entry WHERE hashset_id = ? AND sha256 = ?",
                    (info.id, _blob(sha256)),
                ).fetchone()
                if row is not None:
                    found[sha256] = int(row[0])
        return found

    def entries_with_pdq(
        self, names: Iterable[str] | None = None
    ) -> Iterator[tuple[int, str, str, str | None]]:
        """Yield every entry that carries a PDQ hash, for building the PDQ index.

        Args:
            names: Set names to include; None for every set.

        Returns:
            An iterator of ``(entry_id, hashset_name, pdq_hex, grade)``.

        Raises:
            UsageError: If a named set does not exist.
        """
        chosen = self.select(names)
        sets = {info.id: info.name for info in chosen}
        with self._connect() as connection:
            block_sets = blocks.blocks(connection)
            rows = connection.execute(
                "SELECT id, hashset_id, pdq, grade FROM entry WHERE pdq IS NOT NULL "
                "AND id NOT IN (SELECT entry_id FROM suppressed) ORDER BY id"
            ).fetchall()
        found = [
            (entry_id, sets[set_id], pdq.hex(), grade)
            for entry_id, set_id, pdq, grade in rows
            if set_id in sets
        ]
        found.extend(self._block_entries([i for i in chosen if i.id in block_sets]))
        yield from sorted(found)

    def _block_entries(
        self, infos: list[HashSetInfo]
    ) -> Iterator[tuple[int, str, str, str | None]]:
        """The unsuppressed entries of block sets, read from their index files."""
        suppressed = np.array(sorted(self.suppressed()), dtype=np.int64)
        for bank in self.pdq_banks(infos):
            ids = bank.index.ids.astype(np.int64)
            for row in np.flatnonzero(~np.isin(ids, suppressed)).tolist():
                code = bank.index.codes[row].tobytes().hex()
                yield int(ids[row]), bank.identity.name, code, bank.grade_of(row)

    def video_entries(
        self, names: Iterable[str] | None = None
    ) -> Iterator[tuple[int, str, str | None, list[FrameHash]]]:
        """Yield every known video: ``(entry_id, hashset_name, grade, frames)``."""
        sets = {info.id: info.name for info in self.select(names)}
        with self._connect() as connection:
            # CROSS JOIN keeps video_frame (a few rows) as the outer loop: otherwise SQLite
            # walks every entry in id order, seconds for a 10M-entry PDQ bank.
            rows = connection.execute(
                "SELECT e.id, e.hashset_id, e.grade, f.timestamp, f.pdq, f.quality "
                "FROM video_frame f CROSS JOIN entry e ON f.entry_id = e.id "
                "WHERE e.id NOT IN (SELECT entry_id FROM suppressed) ORDER BY e.id, f.rowid"
            )
            current: tuple[int, str, str | None, list[FrameHash]] | None = None
            for entry_id, set_id, grade, timestamp, pdq, quality in rows:
                if set_id not in sets:
                    continue
                if current is None or current[0] != entry_id:
                    if current is not None:
                        yield current
                    current = (entry_id, sets[set_id], grade, [])
                current[3].append(FrameHash(timestamp, pdq.hex(), quality))
            if current is not None:
                yield current

    def suppress(self, name: str, entry_id: int, reason: str) -> None:
        """Stop entry ``entry_id`` of set ``name`` from matching perceptually.

        Raises:
            UsageError: If the set has no such entry.
        """
        info = self.get(name)
        with self._connect() as connection:
            found = connection.execute(
                "SELECT 1 FROM entry WHERE id = ? AND hashset_id = ?", (entry_id, info.id)
            ).fetchone()
            first, count = blocks.blocks(connection).get(info.id, (0, 0))
            if not found and not first <= entry_id < first + count:
                raise UsageError(f"hash set {name!r} has no entry {entry_id}")
            connection.execute(
                "INSERT OR REPLACE INTO suppressed (entry_id, reason, at) VALUES (?, ?, ?)",
                (entry_id, reason, datetime.now(UTC).isoformat(timespec="seconds")),
            )

    def suppressed(self) -> dict[int, str]:
        """Suppressed entry ids and the reason given for each."""
        with self._connect() as connection:
            return dict(connection.execute("SELECT entry_id, reason FROM suppressed"))

    def state(self) -> str:
        """A fingerprint of the library's content: changes whenever an index must be rebuilt."""
        with self._connect() as connection:
            sets = connection.execute(
                "SELECT id, source_sha256, entries FROM hashset ORDER BY id"
            ).fetchall()
            supp = connection.execute("SELECT entry_id FROM suppressed ORDER BY 1").fetchall()
        return hashlib.sha256(repr((sets, supp)).encode()).hexdigest()

    def select(self, names: Iterable[str] | None) -> list[HashSetInfo]:
        """Return the records of the named sets (all sets for None).

        Args:
            names: Set names, or None.

        Returns:
            The records, in the order given (by name for None).

        Raises:
            UsageError: If a named set does not exist.
        """
        infos = self.list()
        if names is None:
            return infos
        by_name = {info.name: info for info in infos}
        wanted = list(names)
        missing = [n for n in wanted if n not in by_name]
        if missing:
            raise UsageError(f"no hash set named {', '.join(map(repr, missing))} in {self.path}")
        return [by_name[n] for n in wanted]


def _identity(info: HashSetInfo) -> SetIdentity:
    return _identity_of(info.id, info.name, info.source_sha256, info.imported_at)


def _identity_of(set_id: int, name: str, source_sha256: str, imported_at: str) -> SetIdentity:
    from vigil.matching.pdq_bank import SetIdentity

    return SetIdentity(set_id, name, source_sha256, imported_at)


def _default_known_good(module: ModuleType, header: dict[str, object]) -> bool:
    if getattr(module, "KNOWN_GOOD", False):
        return True
    return str(header.get("category", "")).strip().lower() == "known"


def _load_entries(
    connection: sqlite3.Connection,
    set_id: int,
    records: Iterator[HashEntry | Malformed | Truncated],
    policy: CategoryPolicy,
    progress: Callable[[int], None] | None,
) -> _Tally:
    tally = _Tally()
    batch: list[tuple[object, ...]] = []
    # Ids are handed out here, not by SQLite: a block set may own ids above max(id).
    next_id = blocks.next_entry_id(connection)
    for item in records:
        if isinstance(item, Truncated):
            # The reader's last word: the intact records before it are kept.
            tally.truncated = item
            break
        tally.records += 1
        if isinstance(item, Malformed):
            tally.malformed_count += 1
            if len(tally.malformed) < MALFORMED_SAMPLES:
                tally.malformed.append(item)
        else:
            grade, unmapped = policy.grade_for(item.category)
            tally.unmapped += unmapped
            tally.entries += 1
            tally.source[item.category if item.category is not None else _NO_CATEGORY] += 1
            tally.grade[grade if grade is not None else _NO_CATEGORY] += 1
            entry_id = next_id
            next_id += 1
            batch.append(
                (
                    entry_id,
                    set_id,
                    _blob(item.md5),
                    _blob(item.sha1),
                    _blob(item.sha256),
                    item.size,
                    item.name,
                    item.category,
                    grade,
                    item.photodna,
                    _blob(item.pdq),
                    item.record,
                )
            )
            if item.frames:
                # A known video: its entry row is written first, then its frames.
                connection.executemany(_INSERT_ENTRY, batch)
                batch.clear()
                connection.executemany(
                    "INSERT INTO video_frame (entry_id, timestamp, pdq, quality) "
                    "VALUES (?, ?, ?, ?)",
                    [(entry_id, f.timestamp, bytes.fromhex(f.pdq), f.quality) for f in item.frames],
                )
        if len(batch) >= _BATCH:
            connection.executemany(_INSERT_ENTRY, batch)
            batch.clear()
            if progress is not None:
                progress(tally.records)
    if batch:
        connection.executemany(_INSERT_ENTRY, batch)
    if progress is not None:
        progress(tally.records)
    return tally


def _row_entry(fields: list[object] | tuple[object, ...]) -> tuple[HashEntry, str | None]:
    """An entry row's ``_ENTRY_FIELDS`` as the reader's entry, and its grade."""
    md5, sha1, sha256, size, name, category, photodna, pdq, record, grade = fields
    hexes = [value.hex() if isinstance(value, bytes) else None for value in (md5, sha1, sha256)]
    entry = HashEntry(
        *hexes, size=size, name=name, category=category, photodna=photodna,  # type: ignore[arg-type]
        pdq=pdq.hex() if isinstance(pdq, bytes) else None, record=record,  # type: ignore[arg-type]
    )
    return entry, grade  # type: ignore[return-value]


def _info(row: tuple[object, ...]) -> HashSetInfo:
    (
        set_id,
        name,
        fmt,
        scheme,
        known_good,
        entries,
        malformed,
        unmapped,
        categories,
        mapping,
        mapping_note,
        header,
        source_path,
        source_sha256,
        imported_at,
        damage,
    ) = row
    return HashSetInfo(
        id=int(set_id),
        name=str(name),
        format=str(fmt),
        scheme=str(scheme),
        known_good=bool(known_good),
        entries=int(entries),
        malformed=int(malformed),
        unmapped=int(unmapped),
        categories=json.loads(str(categories)),
        mapping=json.loads(str(mapping)),
        mapping_note=str(mapping_note),
        header=json.loads(str(header)),
        source_path=str(source_path),
        source_sha256=str(source_sha256),
        imported_at=str(imported_at),
        damage=json.loads(str(damage)) if damage else {},
        partial=bool(damage),
    )
