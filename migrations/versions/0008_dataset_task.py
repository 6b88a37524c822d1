"""Datasets keep the task their targets' form implies: ``datasets.task``.

Targets uploaded as label sets (``[["a", "b"], [], …]``) are stored as one 0/1 column per label,
like several numeric target columns; ``task`` "multilabel" remembers the form, so a job without
``task`` trains them as multi-label rather than as regression. Datasets from before keep null
(their default task follows ``target_kind``, as it always did).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("task", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.drop_column("task")
