"""Named models and fine-tuning: ``models.name``, ``description``, ``tags`` (set by
``PATCH /v1/models/{id}``), ``models.parent_model_id`` (the model a fine-tuned one started from)
and the ``model_aliases`` table (``PUT /v1/models/aliases/{alias}``: a tenant's name for one of
its models, moved atomically). Models from before keep null names and no tags.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("models", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("description", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("tags", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("parent_model_id", sa.String(length=40), nullable=True))
    op.create_table(
        "model_aliases",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("alias", sa.String(length=64), nullable=False),
        sa.Column("model_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["model_id"], ["models.id"],
                                name=op.f("fk_model_aliases_model_id_models")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_model_aliases_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", "alias", name=op.f("pk_model_aliases")),
    )
    with op.batch_alter_table("model_aliases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_model_aliases_model_id"), ["model_id"], unique=False)


def downgrade() -> None:
    op.drop_table("model_aliases")
    with op.batch_alter_table("models", schema=None) as batch_op:
        batch_op.drop_column("parent_model_id")
        batch_op.drop_column("tags")
        batch_op.drop_column("description")
        batch_op.drop_column("name")
