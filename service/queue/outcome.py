"""How a running job ends: succeeded (with its model or prediction), failed or retried,
cancelled. Each is guarded by the lease: a worker that lost it changes nothing."""

from __future__ import annotations

from sqlalchemy import Table, case, delete, literal, null, update
from sqlalchemy.orm import Session

from service import tables
from service.db import Database
from service.queue._sql import LEASE_CLEARED, clock, jobs, lease_guard, rowcount
from service.repository.predictions import heads, insert_rows


def finish(
    db: Database,
    *,
    job_id: str,
    lease_token: str,
    model: tables.Model | None = None,
    prediction: tables.Prediction | None = None,
    prediction_rows: list[tables.PredictionRow] | None = None,
    prediction_id: str | None = None,
) -> bool:
    """Mark the job succeeded and store what it produced, in one transaction; False (and
    nothing stored) when the lease was lost. The job's checkpoint is dropped.

    A prediction comes whole (``prediction`` and its ``prediction_rows``) or, for a large one
    already written in chunks (``service.queue.results``), as ``prediction_id``: it is marked
    complete here, as the job succeeds."""

    def write(session: Session) -> bool:
        c = clock(db)
        produced: dict[str, str] = {}
        if model is not None:
            produced["model_id"] = model.id
        produced_id = prediction.id if prediction is not None else prediction_id
        if produced_id is not None:
            produced["prediction_id"] = produced_id
        guarded = (
            update(jobs)
            .where(lease_guard(job_id, lease_token))
            .values(status="succeeded", finished_at=c.now(), **produced, **LEASE_CLEARED)
        )
        if rowcount(session, guarded) != 1:
            return False
        # Flushed one by one: the tables have no ORM relationships to order the inserts.
        for row in (model, prediction):
            if row is not None:
                session.add(row)
                session.flush()
        if prediction is not None and prediction_rows:
            ordered = sorted(prediction_rows, key=lambda r: r.row)
            probabilities = [r.probabilities or [] for r in ordered]
            insert_rows(session, prediction.id, 0, [r.prediction for r in ordered],
                        None if ordered[0].probabilities is None else probabilities)
        if prediction_id is not None:
            session.execute(update(heads).where(heads.c.id == prediction_id)
                            .values(complete=True))
        checkpoints: Table = tables.Checkpoint.__table__  # type: ignore[assignment]
        session.execute(delete(checkpoints).where(checkpoints.c.job_id == job_id))
        return True

    return db.run_write(write)


def fail(
    db: Database, *, job_id: str, lease_token: str, code: str, message: str, retry: bool
) -> str | None:
    """End an attempt that failed. A job whose cancel was requested becomes ``cancelled``;
    otherwise, with ``retry`` and attempts left, it is queued again after a backoff, else it fails
    with ``code``/``message``. Returns the new status, or None when the lease was lost."""

    def write(session: Session) -> str | None:
        c = clock(db)
        # A job whose cancel was requested ends cancelled, never retried (as in the reaper).
        cancel = jobs.c.cancel_requested
        again = jobs.c.attempts < jobs.c.max_attempts if retry else literal(False)
        stmt = (
            update(jobs)
            .where(lease_guard(job_id, lease_token))
            .values(
                status=case((cancel, "cancelled"), (again, "queued"), else_="failed"),
                run_after=case((cancel, jobs.c.run_after), (again, c.retry_at()),
                               else_=jobs.c.run_after),
                finished_at=case((cancel, c.now()), (again, null()), else_=c.now()),
                error_code=case((cancel, null()), (again, null()), else_=code),
                error_message=case((cancel, null()), (again, null()), else_=message),
                **LEASE_CLEARED,
            )
            .returning(jobs.c.status)
        )
        row = session.execute(stmt).first()
        return None if row is None else str(row[0])

    return db.run_write(write)


def cancelled(db: Database, *, job_id: str, lease_token: str) -> bool:
    """A running job stopped because its cancel was requested; False when the lease was lost."""

    def write(session: Session) -> bool:
        c = clock(db)
        stmt = (
            update(jobs)
            .where(lease_guard(job_id, lease_token))
            .values(status="cancelled", finished_at=c.now(), **LEASE_CLEARED)
        )
        return rowcount(session, stmt) == 1

    return db.run_write(write)
