"""The lab database tables: users, sessions, case assignments, login attempts, exposure.

The lab database is separate from the case stores (``$VIGIL_HOME/lab.sqlite`` by
default) because users and their exposure span cases. Times are canonical UTC text,
as in the case store.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

# Alembic's bookkeeping table for the lab schema; named apart from the case store's so
# a lab may keep both in one PostgreSQL database.
VERSION_TABLE = "vigil_lab_alembic_version"

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("role", String(20), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", String(32)),  # unused since lab0002 (back-off replaced locks)
    Column("disabled", Boolean, nullable=False, default=False),
    # Raised by a password change: sessions opened under an older version are dead.
    Column("credential_version", Integer, nullable=False, default=1),
)

sessions = Table(
    "sessions",
    metadata,
    # SHA-256 of the cookie token: a stolen database does not yield live sessions.
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("expires_at", String(32), nullable=False),
    Column("credential_version", Integer, nullable=False, default=1),
    Column("last_seen", String(32)),
    Column("remote", String(100)),
)

assignments = Table(
    "assignments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("case_name", String(200), nullable=False),
    Column("assigned_by", String(200), nullable=False),
    Column("at", String(32), nullable=False),
    Index("ix_assignments_user_case", "user_id", "case_name", unique=True),
)

login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("remote", String(100), nullable=False),
    Column("at", String(32), nullable=False),
    Column("ok", Boolean, nullable=False),
    Index("ix_login_attempts_remote_at", "remote", "at"),
    Index("ix_login_attempts_name_at", "name", "at"),
)

reveals = Table(
    "reveals",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("case_name", String(200), nullable=False),
    Column("content_id", Integer, nullable=False),
    Column("at", String(32), nullable=False),
    # "reveal" (the unblurred picture) or "tile" (a tile sharper than the default blur).
    Column("kind", String(10), nullable=False, default="reveal"),
    Column("blur", Integer),
    Index("ix_reveals_user_at", "user_id", "at"),
)

# -- intelligence across cases (lab0003_intel) -----------------------------------------
# The lab-wide content index: one row per distinct content (SHA-256) any case holds,
# and which cases and exhibits hold it; written at the end of every scan.
intel_contents = Table(
    "intel_contents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("sha1", String(40), nullable=False),
    Column("md5", String(32), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("media", String(10), nullable=False),
    Column("pdq", String(64)),
    Column("pdq_quality", Integer),
    Index("ix_intel_contents_md5", "md5"),
    Index("ix_intel_contents_sha1", "sha1"),
)

intel_holders = Table(
    "intel_holders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("content_id", Integer, ForeignKey("intel_contents.id"), nullable=False),
    Column("case_name", String(200), nullable=False),
    Column("exhibit", String(200), nullable=False),
    Column("items", Integer, nullable=False),
    Column("indexed_at", String(32), nullable=False),
    Index(
        "ix_intel_holders_content_case_exhibit", "content_id", "case_name", "exhibit", unique=True
    ),
    Index("ix_intel_holders_case", "case_name", "exhibit"),
)

# Perceptual links between two lab contents (PDQ within the matching distance, both of
# usable quality), stored once per pair (low_id < high_id) when the newer content enters
# the lab index (``vigil.intel.links``); exact links are shared holders and need no row.
intel_links = Table(
    "intel_links",
    metadata,
    Column("low_id", Integer, ForeignKey("intel_contents.id"), primary_key=True),
    Column("high_id", Integer, ForeignKey("intel_contents.id"), primary_key=True),
    Column("distance", Integer, nullable=False),
    Index("ix_intel_links_high", "high_id"),
)

# Named positions of the lab index's bookkeeping: ``links_checked`` = every content with
# an id up to it has been searched against every older content (``vigil.intel.links``).
intel_marks = Table(
    "intel_marks",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

# Every review grade given in the review app, with who, when and in which scheme: the
# record behind the lab's own hash set (see ``vigil.intel.bank``).
bank_grades = Table(
    "bank_grades",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("sha1", String(40), nullable=False),
    Column("md5", String(32), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("mime", String(100), nullable=False),
    Column("pdq", String(64)),
    Column("scheme", String(40), nullable=False),
    Column("grade", String(20)),  # None: a grade taken back (undo to ungraded)
    Column("reviewer", String(200), nullable=False),
    Column("at", String(32), nullable=False),
    Column("case_name", String(200), nullable=False),
    Index("ix_bank_grades_sha256", "sha256"),
)

# Referrals (CyberTipline-style reports) taken in, their files and identifiers.
referrals = Table(
    "referrals",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("report_id", String(100), nullable=False, unique=True),
    Column("source_sha256", String(64), nullable=False),
    Column("imported_at", String(32), nullable=False),
    Column("imported_by", String(200), nullable=False),
    Column("incident_type", String(300)),
    Column("incident_at", String(40)),
    Column("status", String(20), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("reasons", Text, nullable=False),  # JSON list of {"code", "text", "weight"}
    Column("summary", Text, nullable=False),  # JSON of the parsed report
)

referral_files = Table(
    "referral_files",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("referral_id", Integer, ForeignKey("referrals.id"), nullable=False),
    Column("file_id", String(100)),
    Column("file_name", Text),
    Column("md5", String(32)),
    Column("sha1", String(40)),
    Column("sha256", String(64)),
    Column("uploaded_at", String(40)),
    Index("ix_referral_files_referral", "referral_id"),
)

referral_identifiers = Table(
    "referral_identifiers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("referral_id", Integer, ForeignKey("referrals.id"), nullable=False),
    Column("kind", String(20), nullable=False),  # email, screen_name, esp_id, phone, ip
    Column("value", String(300), nullable=False),  # normalised (lower-case email, ...)
    Column("at", String(40)),
    Index("ix_referral_identifiers_kind_value", "kind", "value"),
)
