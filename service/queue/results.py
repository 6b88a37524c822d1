"""A predict job's result, written as it is computed: the prediction's head, then its rows in
chunks, each write guarded by the job's lease; ``finish(prediction_id=…)`` marks it complete in
the transaction that ends the job, so a reader never sees half a prediction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from service import tables
from service.db import Database
from service.queue._sql import jobs, lease_guard, rowcount
from service.repository.predictions import heads, insert_rows


def _guarded(session: Session, job_id: str, lease_token: str) -> bool:
    # A no-op SET: the statement exists to check (and, on PostgreSQL, lock) the lease.
    stmt = update(jobs).where(lease_guard(job_id, lease_token)).values(
        lease_token=jobs.c.lease_token)
    return rowcount(session, stmt) == 1


def begin_prediction(
    db: Database, *, job_id: str, lease_token: str, prediction: tables.Prediction
) -> bool:
    """Insert ``prediction``'s head (incomplete), dropping what an earlier attempt of the job
    left half written; False (nothing written) when the lease was lost."""

    def write(session: Session) -> bool:
        if not _guarded(session, job_id, lease_token):
            return False
        session.execute(delete(heads).where(heads.c.job_id == job_id,
                                            heads.c.complete.is_(False)))
        prediction.complete = False
        session.add(prediction)
        return True

    return db.run_write(write)


def add_prediction_rows(
    db: Database, *, job_id: str, lease_token: str, prediction_id: str, start: int,
    predictions: Sequence[Any], probabilities: Sequence[Sequence[float]] | None,
) -> bool:
    """Rows ``start…`` of the job's prediction, in one short transaction; False when the lease
    was lost (nothing written)."""

    def write(session: Session) -> bool:
        if not _guarded(session, job_id, lease_token):
            return False
        insert_rows(session, prediction_id, start, predictions, probabilities)
        return True

    return db.run_write(write)
