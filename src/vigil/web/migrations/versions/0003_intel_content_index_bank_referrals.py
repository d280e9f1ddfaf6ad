"""lab content index (deconfliction), lab bank grades, referrals

Revision ID: lab0003_intel
Revises: lab0002
Create Date: 2026-12-01 10:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "lab0003_intel"
down_revision = "lab0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intel_contents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("sha1", sa.String(length=40), nullable=False),
        sa.Column("md5", sa.String(length=32), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("media", sa.String(length=10), nullable=False),
        sa.Column("pdq", sa.String(length=64), nullable=True),
        sa.Column("pdq_quality", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sha256"),
    )
    op.create_index("ix_intel_contents_md5", "intel_contents", ["md5"])
    op.create_index("ix_intel_contents_sha1", "intel_contents", ["sha1"])
    op.create_table(
        "intel_holders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("content_id", sa.Integer(), nullable=False),
        sa.Column("case_name", sa.String(length=200), nullable=False),
        sa.Column("exhibit", sa.String(length=200), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("indexed_at", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["content_id"], ["intel_contents.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_intel_holders_content_case_exhibit",
        "intel_holders",
        ["content_id", "case_name", "exhibit"],
        unique=True,
    )
    op.create_index("ix_intel_holders_case", "intel_holders", ["case_name", "exhibit"])
    op.create_table(
        "bank_grades",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("sha1", sa.String(length=40), nullable=False),
        sa.Column("md5", sa.String(length=32), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mime", sa.String(length=100), nullable=False),
        sa.Column("pdq", sa.String(length=64), nullable=True),
        sa.Column("scheme", sa.String(length=40), nullable=False),
        sa.Column("grade", sa.String(length=20), nullable=True),
        sa.Column("reviewer", sa.String(length=200), nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("case_name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bank_grades_sha256", "bank_grades", ["sha256"])
    op.create_table(
        "referrals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.String(length=100), nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=False),
        sa.Column("imported_at", sa.String(length=32), nullable=False),
        sa.Column("imported_by", sa.String(length=200), nullable=False),
        sa.Column("incident_type", sa.String(length=300), nullable=True),
        sa.Column("incident_at", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("report_id"),
    )
    op.create_table(
        "referral_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.String(length=100), nullable=True),
        sa.Column("file_name", sa.Text(), nullable=True),
        sa.Column("md5", sa.String(length=32), nullable=True),
        sa.Column("sha1", sa.String(length=40), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("uploaded_at", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["referral_id"], ["referrals.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_referral_files_referral", "referral_files", ["referral_id"])
    op.create_table(
        "referral_identifiers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=300), nullable=False),
        sa.Column("at", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["referral_id"], ["referrals.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_referral_identifiers_kind_value", "referral_identifiers", ["kind", "value"]
    )


def downgrade() -> None:
    for index, table in (
        ("ix_referral_identifiers_kind_value", "referral_identifiers"),
        ("ix_referral_files_referral", "referral_files"),
        ("ix_bank_grades_sha256", "bank_grades"),
        ("ix_intel_holders_case", "intel_holders"),
        ("ix_intel_holders_content_case_exhibit", "intel_holders"),
        ("ix_intel_contents_sha1", "intel_contents"),
        ("ix_intel_contents_md5", "intel_contents"),
    ):
        op.drop_index(index, table_name=table)
    for table in (
        "referral_identifiers",
        "referral_files",
        "referrals",
        "bank_grades",
        "intel_holders",
        "intel_contents",
    ):
        op.drop_table(table)
