"""phone extraction provenance

The exhibit keeps what the extraction says made it (the extraction type, tool, version
and device); an item keeps the app the extraction's report attributes it to and the path
of the item paired with it (a Live Photo's still and video). All nullable: rows from
before keep their row digests (NULL columns are not digested).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 10:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_EXHIBIT = (
    ("extraction_type", sa.String(length=200)),
    ("extraction_tool", sa.String(length=200)),
    ("extraction_version", sa.String(length=100)),
    ("device", sa.String(length=200)),
)
_ITEM = (("app", sa.String(length=200)), ("linked_path", sa.Text()))


def upgrade() -> None:
    for table, columns in (("exhibits", _EXHIBIT), ("items", _ITEM)):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, kind in columns:
                batch_op.add_column(sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    for table, columns in (("exhibits", _EXHIBIT), ("items", _ITEM)):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, _kind in reversed(columns):
                batch_op.drop_column(name)
