"""Datasets may live in the artifact store; chunked uploads; sizes past 2 GiB.

- ``datasets.artifact`` / ``datasets.artifact_sha256``: the key and hash of a dataset stored in
  the artifact store (``service.artifact_store``); ``datasets.content`` becomes nullable (such a
  row has none). Existing rows keep their content: they are read as they are (formats 1 and 2,
  ``service.artifacts``), nothing is rewritten.
- ``datasets.size_bytes`` becomes a 64-bit integer (uploads of more than 2 GiB).
- ``uploads``: chunked uploads in progress (``/v1/uploads``).
- PostgreSQL: ``datasets.content`` is stored out of line uncompressed (``STORAGE EXTERNAL``): the
  stored form is raw ``.npy`` members, which pglz would spend seconds failing to shrink.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("artifact", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("artifact_sha256", sa.String(length=64), nullable=True))
        batch_op.alter_column("content", existing_type=sa.LargeBinary(), nullable=True)
        batch_op.alter_column("size_bytes", existing_type=sa.Integer(),
                              type_=sa.BigInteger(), existing_nullable=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE datasets ALTER COLUMN content SET STORAGE EXTERNAL")
    op.create_table(
        "uploads",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("received_bytes", sa.BigInteger(), nullable=False),
        sa.Column("total_bytes", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_uploads_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_uploads")),
    )
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_uploads_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:
    """Back to 0009: only possible while every dataset is in the database (move artifacts
    back first); chunked uploads in progress are dropped."""
    op.drop_table("uploads")
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE datasets ALTER COLUMN content SET STORAGE EXTENDED")
    stored = bind.execute(sa.text("SELECT count(*) FROM datasets WHERE content IS NULL")).scalar()
    if stored:
        raise RuntimeError(f"{stored} dataset(s) live in the artifact store; before 0010 "
                           "every dataset is in the database")
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.alter_column("size_bytes", existing_type=sa.BigInteger(),
                              type_=sa.Integer(), existing_nullable=False)
        batch_op.alter_column("content", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column("artifact_sha256")
        batch_op.drop_column("artifact")
