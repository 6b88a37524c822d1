"""Fair claims and atomic quotas: jobs.claimed_at, and indexes by tenant and status / claim.

`claimed_at` is when a job's latest attempt was claimed (`started_at` keeps the first); the claim
orders tenants by their running jobs and latest claim (`service.queue.fairness`), and the quota
counts a tenant's queued jobs, both through the new indexes. `(tenant_id, status)` makes the old
`(tenant_id)` index redundant, so it goes. Old jobs get `claimed_at = started_at`, the best known.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Each of these is a plain ALTER/CREATE on SQLite too: batch mode copies no table.
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_jobs_tenant_status", ["tenant_id", "status"], unique=False)
        batch_op.create_index("ix_jobs_tenant_claimed", ["tenant_id", "claimed_at"], unique=False)
        batch_op.drop_index(batch_op.f("ix_jobs_tenant_id"))
    op.execute("UPDATE jobs SET claimed_at = started_at WHERE started_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jobs_tenant_id"), ["tenant_id"], unique=False)
        batch_op.drop_index("ix_jobs_tenant_claimed")
        batch_op.drop_index("ix_jobs_tenant_status")
        batch_op.drop_column("claimed_at")
