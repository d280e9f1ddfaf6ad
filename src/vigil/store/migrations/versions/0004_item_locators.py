"""item locators

A forensic image's top-level items keep their ``Locator`` (``model.py``) as JSON, so
the review app and exports re-open one without walking the image again.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 11:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locator", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("locator")
