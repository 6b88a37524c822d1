"""What a running job writes as it goes: epoch history rows and its checkpoint.

Each write is one transaction led by the guarded UPDATE of the job: when the lease is lost it
matches nothing and nothing else is written. (On PostgreSQL that UPDATE also locks the job's row,
so a reaper can't take the job back halfway through.)
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service import tables
from service.db import Database
from service.queue._sql import clock, jobs, lease_guard, rowcount, upsert


def record_epoch(
    db: Database,
    *,
    job_id: str,
    lease_token: str,
    epoch: int,
    metrics: dict[str, Any],
    seconds: float,
    diagnostics: dict[str, Any] | None = None,
) -> bool:
    """Store one finished epoch (overwriting that epoch's row after a resume, never duplicating
    it) and the job's progress; False when the lease was lost (nothing written).

    ``diagnostics`` (the engine's per-layer block) goes into the epoch row's metrics JSON under
    ``diagnostics``; its ``warnings`` into the job's metrics under ``warnings`` (``JobPublic``
    shows them as the job's ``warnings``)."""
    job_metrics = metrics
    if diagnostics is not None:
        job_metrics = {**metrics, "warnings": diagnostics.get("warnings", [])}
        metrics = {**metrics, "diagnostics": diagnostics}

    def write(session: Session) -> bool:
        c = clock(db)
        guarded = (
            update(jobs)
            .where(lease_guard(job_id, lease_token))
            .values(progress_epoch=epoch, metrics=job_metrics)
        )
        if rowcount(session, guarded) != 1:
            return False
        row = upsert(
            db,
            tables.JobEpoch,
            {
                "job_id": job_id,
                "epoch": epoch,
                "metrics": metrics,
                "seconds": seconds,
                "created_at": c.now(),
            },
            key=["job_id", "epoch"],
            update=["metrics", "seconds", "created_at"],
        )
        session.execute(row)
        return True

    return db.run_write(write)


def save_checkpoint(
    db: Database, *, job_id: str, lease_token: str, epoch: int, state: bytes
) -> bool:
    """Replace the job's checkpoint; False when the lease was lost (nothing written)."""

    def write(session: Session) -> bool:
        c = clock(db)
        # A no-op SET: the statement exists to check (and, on PostgreSQL, lock) the lease.
        guarded = (
            update(jobs)
            .where(lease_guard(job_id, lease_token))
            .values(lease_token=jobs.c.lease_token)
        )
        if rowcount(session, guarded) != 1:
            return False
        row = upsert(
            db,
            tables.Checkpoint,
            {"job_id": job_id, "epoch": epoch, "state": state, "created_at": c.now()},
            key=["job_id"],
            update=["epoch", "state", "created_at"],
        )
        session.execute(row)
        return True

    return db.run_write(write)


def load_checkpoint(db: Database, *, job_id: str) -> tuple[int, bytes] | None:
    """The job's latest (epoch, state), or None when it has none."""
    with db.read() as session:
        stmt = select(tables.Checkpoint.epoch, tables.Checkpoint.state).where(
            tables.Checkpoint.job_id == job_id
        )
        row = session.execute(stmt).first()
    return None if row is None else (int(row[0]), bytes(row[1]))
