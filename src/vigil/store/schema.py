"""The case-store tables (SQLAlchemy Core).

Times are ISO-8601 UTC text (``2024-01-02T03:04:05.000000Z``) so that SQLite and
PostgreSQL hold and sort them identically. Alembic migrations in ``migrations/``
create exactly these tables; ``tests/store/test_schema.py`` checks they agree.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

cases = Table(
    "cases",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", String(32), nullable=False),
    Column("examiner", String(200)),
    Column("organisation", String(200)),
    Column("reference", String(200)),
)

exhibits = Table(
    "exhibits",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("evidence_path", Text, nullable=False),
    Column("evidence_kind", String(20), nullable=False),
    Column("description", Text),
    Column("created_at", String(32), nullable=False),
    # Acquisition hashes stored in the evidence container, and what `vigil verify` found.
    Column("acquisition_md5", String(32)),
    Column("acquisition_sha1", String(40)),
    Column("verify_result", String(20)),
    # Phone extractions: what the extraction says made it (migration 0005).
    Column("extraction_type", String(200)),
    Column("extraction_tool", String(200)),
    Column("extraction_version", String(100)),
    Column("device", String(200)),
    UniqueConstraint("case_id", "name"),
)

scans = Table(
    "scans",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("exhibit_id", Integer, ForeignKey("exhibits.id"), nullable=False),
    Column("started_at", String(32), nullable=False),
    Column("finished_at", String(32)),
    Column("status", String(20), nullable=False),
    Column("settings", Text, nullable=False),
    Column("vigil_version", String(40), nullable=False),
    Column("host", String(200)),
)

scan_hashsets = Table(
    "scan_hashsets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("scan_id", Integer, ForeignKey("scans.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("format", String(40), nullable=False),
    Column("scheme", String(40)),
    Column("known_good", Boolean, nullable=False),
    Column("entries", BigInteger, nullable=False),
    Column("source_sha256", String(64)),
    Column("imported_at", String(32)),
    UniqueConstraint("scan_id", "name"),
)

contents = Table(
    "contents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("sha1", String(40), nullable=False),
    Column("md5", String(32), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("mime", String(100), nullable=False),
    Column("media", String(10), nullable=False),
    Column("pdq", String(64)),
    Column("pdq_quality", Integer),
    Column("partial", Boolean, nullable=False, default=False),
    # The write batch that wrote the row and the row's digest (store/rowproof.py).
    Column("batch", Integer),
    Column("digest", String(64)),
    UniqueConstraint("case_id", "sha256"),
    Index("ix_contents_md5", "md5"),
)

items = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("exhibit_id", Integer, ForeignKey("exhibits.id"), nullable=False),
    # Display form (vigil.names.escape_name): lossless, printable; the raw bytes beside it.
    Column("path", Text, nullable=False),
    Column("path_raw", LargeBinary),
    Column("content_id", Integer, ForeignKey("contents.id")),
    Column("size", BigInteger),
    Column("created", String(32)),
    Column("modified", String(32)),
    Column("accessed", String(32)),
    Column("changed", String(32)),
    Column("allocated", Boolean, nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("carved", Boolean, nullable=False),
    Column("embedded", Boolean, nullable=False),
    Column("in_archive", Boolean, nullable=False),
    Column("encrypted", Boolean, nullable=False),
    Column("inode", String(64)),
    Column("offset", BigInteger),
    Column("parent_path", Text),
    Column("depth", Integer, nullable=False),
    # Where a forensic image's top-level item lies (model.Locator as JSON); NULL else.
    Column("locator", Text),
    # NULL: not a container; False: children not all recorded yet; True: complete.
    Column("expanded", Boolean),
    # Phone extractions: the app the report attributes the file to; the paired item.
    Column("app", String(200)),
    Column("linked_path", Text),
    # The write batch that wrote the row and the row's digest (store/rowproof.py).
    Column("batch", Integer),
    Column("digest", String(64)),
    UniqueConstraint("exhibit_id", "path"),
    Index("ix_items_content", "content_id"),
)

matches = Table(
    "matches",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("content_id", Integer, ForeignKey("contents.id"), nullable=False),
    Column("hashset", String(200), nullable=False),
    Column("entry_id", BigInteger, nullable=False),
    Column("grade", String(20)),
    Column("basis", String(12), nullable=False),
    Column("algorithm", String(20), nullable=False),
    Column("known_good", Boolean, nullable=False),
    Column("distance", Integer),
    Column("variant", String(40)),
    Column("timestamp", Float),
    # The write batch that wrote the row and the row's digest (store/rowproof.py).
    Column("batch", Integer),
    Column("digest", String(64)),
    UniqueConstraint("content_id", "hashset", "entry_id", "variant", "timestamp"),
)

errors = Table(
    "errors",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("exhibit_id", Integer, ForeignKey("exhibits.id"), nullable=False),
    Column("location", Text, nullable=False),
    Column("stage", String(40), nullable=False),
    Column("reason", Text, nullable=False),
    # The write batch that wrote the row and the row's digest (store/rowproof.py).
    Column("batch", Integer),
    Column("digest", String(64)),
    UniqueConstraint("exhibit_id", "location", "stage", "reason"),
)

# One row per ``CaseStore.write_batch`` call that wrote rows; its digest is also in the
# audit chain (action ``scan-batch``), which is what proves it.
row_batches = Table(
    "row_batches",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("scan_id", Integer, ForeignKey("scans.id"), nullable=False),
    Column("rows", Integer, nullable=False, default=0),
    Column("digest", String(64)),
)

# A video's sampled frames (perceptual hashes) and its review thumbnails.
frames = Table(
    "frames",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("content_id", Integer, ForeignKey("contents.id"), nullable=False),
    Column("timestamp", Float, nullable=False),
    Column("pdq", String(64), nullable=False),
    Column("quality", Integer, nullable=False),
    # The write batch that wrote the row and the row's digest (store/rowproof.py).
    Column("batch", Integer),
    Column("digest", String(64)),
    UniqueConstraint("content_id", "timestamp"),
)

thumbnails = Table(
    "thumbnails",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("content_id", Integer, ForeignKey("contents.id"), nullable=False),
    Column("timestamp", Float, nullable=False),
    # Already blurred and greyscale; the review app decides when anything is shown.
    Column("jpeg", LargeBinary, nullable=False),
    # The write batch that wrote the row and the row's digest (store/rowproof.py).
    Column("batch", Integer),
    Column("digest", String(64)),
    UniqueConstraint("content_id", "timestamp"),
)

# Grades given by a person in the review app (the newest row per content wins).
grades = Table(
    "grades",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("content_id", Integer, ForeignKey("contents.id"), nullable=False),
    Column("scheme", String(40), nullable=False),
    Column("grade", String(20)),
    Column("user", String(200), nullable=False),
    Column("at", String(32), nullable=False),
    Column("note", Text),
    Index("ix_grades_content", "content_id"),
)

# Append-only, hash-chained log of everything done to a case (store/audit.py).
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", String(32), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(40), nullable=False),
    Column("details", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("case_id", "seq"),
)

# Camera facts a scan read from a picture's EXIF (one row per content that had any).
# ``taken`` is the camera's local clock as ISO text (no zone: cameras do not record one).
exif = Table(
    "exif",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("content_id", Integer, ForeignKey("contents.id"), nullable=False, unique=True),
    Column("make", String(200)),
    Column("model", String(200)),
    Column("body_serial", String(200)),
    Column("lens_make", String(200)),
    Column("lens_model", String(200)),
    Column("lens_serial", String(200)),
    Column("taken", String(32)),
    Column("latitude", Float),
    Column("longitude", Float),
    # The write batch that wrote the row and the row's digest (store/rowproof.py).
    Column("batch", Integer),
    Column("digest", String(64)),
)

# A classifier run over a case's unknown pictures (vigil.classify): which model file.
classifier_runs = Table(
    "classifier_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("model_name", String(200), nullable=False),
    Column("model_sha256", String(64), nullable=False),
    Column("label", String(100), nullable=False),
    Column("config", Text, nullable=False),
    Column("user", String(200), nullable=False),
    Column("at", String(32), nullable=False),
    Column("scored", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
)

# A picture's priority score from one classifier run: an ordering aid, never a grade.
scores = Table(
    "scores",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("classifier_runs.id"), nullable=False),
    Column("content_id", Integer, ForeignKey("contents.id"), nullable=False),
    Column("score", Float, nullable=False),
    UniqueConstraint("run_id", "content_id"),
    Index("ix_scores_content", "content_id"),
)
