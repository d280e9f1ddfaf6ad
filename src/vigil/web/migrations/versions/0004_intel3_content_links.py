"""lab content index: stored perceptual links and the checked-up-to mark

Revision ID: lab0004_intel3
Revises: lab0003_intel
Create Date: 2026-12-01 17:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "lab0004_intel3"
down_revision = "lab0003_intel"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intel_links",
        sa.Column("low_id", sa.Integer(), nullable=False),
        sa.Column("high_id", sa.Integer(), nullable=False),
        sa.Column("distance", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["low_id"], ["intel_contents.id"]),
        sa.ForeignKeyConstraint(["high_id"], ["intel_contents.id"]),
        sa.PrimaryKeyConstraint("low_id", "high_id"),
    )
    op.create_index("ix_intel_links_high", "intel_links", ["high_id"])
    op.create_table(
        "intel_marks",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_index("ix_intel_links_high", table_name="intel_links")
    op.drop_table("intel_marks")
    op.drop_table("intel_links")
