"""What a running job writes as it goes: epoch history rows and its checkpoint.

Each write is one transaction led by the guarded UPDATE of the job: when the lease is lost it
matches nothing and nothing else is written. (On PostgreSQL that UPDATE also locks the job's row,
so a reaper can't take the job back halfway through.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service import tables
from service.db import Database
from service.queue._sql import Clock, clock, jobs, lease_guard, rowcount, upsert


@dataclass(frozen=True)
class EpochRow:
    """One finished epoch's history row: its measures, its duration, and the engine's
    per-layer ``diagnostics`` block (None when off)."""

    epoch: int
    metrics: dict[str, Any]
    seconds: float
    diagnostics: dict[str, Any] | None = None

    def job_metrics(self) -> dict[str, Any]:
        """The job's live metrics: the row's, with the diagnostics' ``warnings``."""
        if self.diagnostics is None:
            return self.metrics
        return {**self.metrics, "warnings": self.diagnostics.get("warnings", [])}

    def stored_metrics(self) -> dict[str, Any]:
        """The epoch row's metrics JSON: the diagnostics under ``diagnostics``."""
        if self.diagnostics is None:
            return self.metrics
        return {**self.metrics, "diagnostics": self.diagnostics}


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
    row = EpochRow(epoch, metrics, seconds, diagnostics)
    return record_epochs(db, job_id=job_id, lease_token=lease_token, rows=[row])


def record_epochs(
    db: Database, *, job_id: str, lease_token: str, rows: Sequence[EpochRow]
) -> bool:
    """`record_epoch` for several epochs (in order) in one transaction: the job's progress is
    the last one's."""

    def write(session: Session) -> bool:
        last = rows[-1]
        guarded = (
            update(jobs)
            .where(lease_guard(job_id, lease_token))
            .values(progress_epoch=last.epoch, metrics=last.job_metrics())
        )
        if rowcount(session, guarded) != 1:
            return False
        write_epoch_rows(db, session, clock(db), job_id, rows)
        return True

    return bool(rows) and db.run_write(write)


def write_epoch_rows(
    db: Database, session: Session, c: Clock, job_id: str, rows: Sequence[EpochRow]
) -> None:
    """Upsert the job's epoch ``rows`` in one statement, inside a transaction whose guarded
    UPDATE of the job matched (after a resume an epoch's row is overwritten, never doubled)."""
    # One statement (compiled once, cached) executed for every row: a multi-row VALUES would
    # be a new statement for each count of rows.
    stmt = upsert(db, tables.JobEpoch, {"created_at": c.now()}, key=["job_id", "epoch"],
                  update=["metrics", "seconds", "created_at"])
    session.execute(stmt, [
        {"job_id": job_id, "epoch": row.epoch, "metrics": row.stored_metrics(),
         "seconds": row.seconds}
        for row in rows
    ])


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
