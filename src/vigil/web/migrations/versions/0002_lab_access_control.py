"""access that can be taken away: disabled users, credential versions, idle sessions, tile views

Revision ID: lab0002
Revises: lab0001
Create Date: 2026-12-01 07:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "lab0002"
down_revision = "lab0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (constant defaults), not a batch copy: on SQLite a batch would drop
    # and recreate ``users``, which the sessions' foreign keys refuse once rows exist.
    op.add_column(
        "users", sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column(
        "users",
        sa.Column("credential_version", sa.Integer(), nullable=False, server_default="1"),
    )
    op.add_column(
        "sessions",
        sa.Column("credential_version", sa.Integer(), nullable=False, server_default="1"),
    )
    op.add_column("sessions", sa.Column("last_seen", sa.String(length=32), nullable=True))
    op.add_column("sessions", sa.Column("remote", sa.String(length=100), nullable=True))
    op.add_column(
        "reveals",
        sa.Column("kind", sa.String(length=10), nullable=False, server_default="reveal"),
    )
    op.add_column("reveals", sa.Column("blur", sa.Integer(), nullable=True))
    op.create_index("ix_login_attempts_name_at", "login_attempts", ["name", "at"])


def downgrade() -> None:
    op.drop_index("ix_login_attempts_name_at", table_name="login_attempts")
    with op.batch_alter_table("reveals") as batch:
        batch.drop_column("blur")
        batch.drop_column("kind")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("remote")
        batch.drop_column("last_seen")
        batch.drop_column("credential_version")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("credential_version")
        batch.drop_column("disabled")
