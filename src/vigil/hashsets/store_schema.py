"""The SQLite schema of the hash-set library file (``<home>/library.sqlite``).

Hashes are stored as BLOBs of the raw digest (16/20/32 bytes), half the size of hex
text, with partial indexes that skip entries lacking that algorithm.
"""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 5

_DDL = """
CREATE TABLE IF NOT EXISTS hashset (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    format        TEXT NOT NULL,
    scheme        TEXT NOT NULL,
    known_good    INTEGER NOT NULL,
    entries       INTEGER NOT NULL DEFAULT 0,
    malformed     INTEGER NOT NULL DEFAULT 0,
    unmapped      INTEGER NOT NULL DEFAULT 0,
    categories    TEXT NOT NULL DEFAULT '{}',
    mapping       TEXT NOT NULL DEFAULT '{}',
    mapping_note  TEXT NOT NULL DEFAULT '',
    header        TEXT NOT NULL DEFAULT '{}',
    source_path   TEXT NOT NULL,
    source_sha256 TEXT NOT NULL,
    imported_at   TEXT NOT NULL,
    damage        TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS entry (
    id         INTEGER PRIMARY KEY,
    hashset_id INTEGER NOT NULL REFERENCES hashset(id),
    md5        BLOB,
    sha1       BLOB,
    sha256     BLOB,
    size       INTEGER,
    name       TEXT,
    category   TEXT,
    grade      TEXT,
    photodna   TEXT,
    pdq        BLOB,
    record     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS entry_md5 ON entry(md5) WHERE md5 IS NOT NULL;
CREATE INDEX IF NOT EXISTS entry_sha1 ON entry(sha1) WHERE sha1 IS NOT NULL;
CREATE INDEX IF NOT EXISTS entry_sha256 ON entry(sha256) WHERE sha256 IS NOT NULL;
CREATE INDEX IF NOT EXISTS entry_hashset ON entry(hashset_id);
CREATE INDEX IF NOT EXISTS entry_pdq ON entry(hashset_id) WHERE pdq IS NOT NULL;
CREATE TABLE IF NOT EXISTS video_frame (
    entry_id  INTEGER NOT NULL REFERENCES entry(id),
    timestamp REAL NOT NULL,
    pdq       BLOB NOT NULL,
    quality   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS video_frame_entry ON video_frame(entry_id);
-- A set whose entries live only in its PDQ index file (flat arrays: hash, grade, category,
-- line number), not as rows: entries first_id .. first_id + count - 1 (version 4).
-- grading: JSON [[category, grade], ...], to rebuild a lost index file from the source.
-- kind (version 5): 'pdq', or 'exact': an exact-hash set (VICS) whose entries are sorted
-- MD5/SHA-1/SHA-256 arrays in <home>/index/exact-set-<id>/ (``exact_block``). Sets
-- imported before version 5 keep their entry rows, which are matched as before.
CREATE TABLE IF NOT EXISTS entry_block (
    hashset_id INTEGER PRIMARY KEY REFERENCES hashset(id),
    first_id   INTEGER NOT NULL,
    count      INTEGER NOT NULL,
    grading    TEXT NOT NULL,
    kind       TEXT NOT NULL DEFAULT 'pdq'
);
-- Entries an examiner has suppressed (e.g. a flat picture that matches everything).
CREATE TABLE IF NOT EXISTS suppressed (
    entry_id INTEGER PRIMARY KEY REFERENCES entry(id),
    reason   TEXT NOT NULL,
    at       TEXT NOT NULL
);
"""


def create_schema(connection: sqlite3.Connection) -> None:
    """Create the library tables if missing and record the schema version.

    Args:
        connection: An open connection in autocommit mode.
    """
    connection.executescript(_DDL)
    columns = {row[1] for row in connection.execute("PRAGMA table_info(hashset)")}
    if "damage" not in columns:
        # Version 3: where a damaged file broke ('' = imported intact).
        connection.execute("ALTER TABLE hashset ADD COLUMN damage TEXT NOT NULL DEFAULT ''")
    block_columns = {row[1] for row in connection.execute("PRAGMA table_info(entry_block)")}
    if "kind" not in block_columns:
        # Version 5: every block of a version-4 library is a PDQ list.
        connection.execute("ALTER TABLE entry_block ADD COLUMN kind TEXT NOT NULL DEFAULT 'pdq'")
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
