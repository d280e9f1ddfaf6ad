"""names as bytes and row digests

Paths are stored in their display form (``vigil.names.escape_name``) with the raw bytes
beside them; rows written by a scan carry their write batch and digest.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 07:40:00
"""

import sqlalchemy as sa
from alembic import op

from vigil.names import escape_name, name_bytes
from vigil.store import audit, rowproof

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_PROVEN = ("contents", "items", "matches", "errors", "frames", "thumbnails")


def _escape_column(table: str, column: str, raw: str | None = None) -> None:
    """Rewrite ``column`` in display form (and fill ``raw`` with its bytes)."""
    conn = op.get_bind()
    t = sa.table(table, sa.column("id"), sa.column(column), *([sa.column(raw)] if raw else []))
    rows = conn.execute(sa.select(t.c.id, t.c[column])).all()
    for row_id, value in rows:
        if value is None:
            continue
        values = {column: escape_name(value)}
        if raw:
            values[raw] = name_bytes(value)
        elif values[column] == value:
            continue
        conn.execute(sa.update(t).where(t.c.id == row_id).values(**values))


def upgrade() -> None:
    op.create_table(
        "row_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scan_id", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["scan_id"], ["scans.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    for table in _PROVEN:
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table == "items":
                batch_op.add_column(sa.Column("path_raw", sa.LargeBinary(), nullable=True))
            batch_op.add_column(sa.Column("batch", sa.Integer(), nullable=True))
            batch_op.add_column(sa.Column("digest", sa.String(length=64), nullable=True))
    # Rows from before this revision: names in display form, raw bytes filled in, then
    # sealed (digested) as they are now.
    _escape_column("items", "path", "path_raw")
    _escape_column("items", "parent_path")
    _escape_column("errors", "location")
    _escape_column("exhibits", "evidence_path")
    _seal_existing_rows()


def _seal_existing_rows() -> None:
    """Prove the rows already in the store as of now: one batch per case, chained."""
    conn = op.get_bind()
    meta = sa.MetaData()
    meta.reflect(conn, only=("cases", "exhibits", "scans", "row_batches", *_PROVEN))
    t = meta.tables
    scans, exhibits, batches = t["scans"], t["exhibits"], t["row_batches"]
    for (case_id,) in conn.execute(sa.select(t["cases"].c.id)).all():
        scan = conn.execute(
            sa.select(scans.c.id)
            .join(exhibits, exhibits.c.id == scans.c.exhibit_id)
            .where(exhibits.c.case_id == case_id)
            .order_by(scans.c.id)
            .limit(1)
        ).scalar()
        if scan is None:
            continue
        batch = conn.execute(
            sa.insert(batches).values(scan_id=scan, rows=0)
        ).inserted_primary_key[0]
        digests = []
        for name in _PROVEN:
            table = t[name]
            rows = rowproof.case_rows(conn, case_id, table, (exhibits, t["contents"])).all()
            for row in rows:
                digest = rowproof.row_digest(table, row._mapping)
                conn.execute(
                    sa.update(table)
                    .where(table.c.id == row.id)
                    .values(batch=batch, digest=digest)
                )
                digests.append(digest)
        if not digests:
            conn.execute(sa.delete(batches).where(batches.c.id == batch))
            continue
        digest = rowproof.batch_digest(digests)
        conn.execute(
            sa.update(batches)
            .where(batches.c.id == batch)
            .values(rows=len(digests), digest=digest)
        )
        details = {"scan": scan, "batch": batch, "rows": len(digests), "digest": digest}
        audit.append(conn, case_id, "vigil migration 0003", rowproof.BATCH_ACTION,
                     {**details, "legacy": True})


def downgrade() -> None:
    for table in reversed(_PROVEN):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("digest")
            batch_op.drop_column("batch")
            if table == "items":
                batch_op.drop_column("path_raw")
    op.drop_table("row_batches")
