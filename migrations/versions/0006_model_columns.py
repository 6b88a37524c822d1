"""Models keep the raw columns they take: ``models.columns`` (name, kind, categories).

A model trained on named columns imputes and encodes them itself (``worker.pipeline``); its
column schema answers ``GET /v1/models/{id}`` and matches predict inputs by name. Models from
before keep null: they take ``n_features`` numbers by position, as they always did.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("models", schema=None) as batch_op:
        batch_op.add_column(sa.Column("columns", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("models", schema=None) as batch_op:
        batch_op.drop_column("columns")
