"""The lab database tables: users, sessions, case assignments, login attempts, exposure.

The lab database is separate from the case stores (``$VIGIL_HOME/lab.sqlite`` by
default) because users and their exposure span cases. Times are canonical UTC text,
as in the case store.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, MetaData, String, Table

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
