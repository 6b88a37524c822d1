"""The epoch whose weights a model holds: ``jobs.best_epoch`` and ``models.best_epoch``.

With early stopping's ``restore_best`` a model keeps the best epoch's weights, not the last
epoch's; its ``metrics`` (and the finished job's) are that epoch's history row, and
``best_epoch`` names it (``epochs_trained`` still counts every epoch run). Rows written before
stay null: which epoch they kept was not recorded.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("jobs", "models"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("best_epoch", sa.Integer(), nullable=True))


def downgrade() -> None:
    for table in ("models", "jobs"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("best_epoch")
