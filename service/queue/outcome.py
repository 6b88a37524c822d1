"""How a running job ends: succeeded (with what it produced), failed or retried, cancelled.
Each is guarded by the lease: a worker that lost it changes nothing. A job that ends (succeeded,
failed, cancelled; not one queued again for a retry) loses its checkpoint in the same transaction:
it will never resume from it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, literal, null, update
from sqlalchemy.orm import Session

from service import tables
from service.db import Database
from service.queue._sql import LEASE_CLEARED, clock, drop_checkpoints, jobs, lease_guard, rowcount
from service.queue.attempts import end_attempt
from service.queue.progress import EpochRow, write_epoch_rows
from service.repository.predictions import heads, insert_rows

# A job points at the row it produced (the job object's `model_id`, `prediction_id`): for each
# kind of result row, the job's column that holds its id. Kinds whose results are other rows
# (or none) add nothing here.
RESULT_COLUMNS: dict[type[tables.Base], str] = {
    tables.Model: "model_id",
    tables.Prediction: "prediction_id",
}


def _with_warnings(model: tables.Model, warnings: list[str] | None) -> Any:
    """The job's metrics: the model's, with the diagnostics' ``warnings`` (``JobPublic``)."""
    return model.metrics if warnings is None else {**(model.metrics or {}), "warnings": warnings}


def _produced(rows: list[Any], model: tables.Model | None, warnings: list[str] | None,
              prediction_id: str | None, epochs: Sequence[EpochRow]) -> dict[str, Any]:
    """The job's columns that a success sets: links to its results, the model's metrics, its
    progress."""
    produced: dict[str, Any] = {
        RESULT_COLUMNS[type(row)]: row.id for row in rows if type(row) in RESULT_COLUMNS}
    if model is not None:  # the job reports what the model holds: its weights' epoch
        produced.update(metrics=_with_warnings(model, warnings), best_epoch=model.best_epoch)
    if prediction_id is not None:
        produced["prediction_id"] = prediction_id
    if epochs:
        produced["progress_epoch"] = epochs[-1].epoch
    return produced


def finish(
    db: Database,
    *,
    job_id: str,
    lease_token: str,
    outputs: Sequence[tables.Base] = (),
    model: tables.Model | None = None,
    prediction: tables.Prediction | None = None,
    prediction_rows: Sequence[tables.PredictionRow] | None = None,
    prediction_id: str | None = None,
    evaluation: tuple[str, dict[str, Any]] | None = None,
    warnings: list[str] | None = None,
    epochs: Sequence[EpochRow] = (),
) -> bool:
    """Mark the job succeeded and store the rows it produced, in one transaction; False (and
    nothing stored) when the lease was lost. ``outputs`` are inserted in order (a row before the
    rows that refer to it); ``model`` and ``prediction`` are the same by name, stored first. A
    result row (`RESULT_COLUMNS`) is linked from the job. A prediction's rows come with it
    (``prediction_rows``, written by the one row writer, ``service.repository.predictions.
    insert_rows``) or, for a large one already written in chunks (``service.queue.results``),
    the prediction is named by ``prediction_id`` and marked complete here, as the job succeeds.
    ``evaluation``: ``(id, report)`` of a pending one; ``warnings``: the diagnostics' last
    ones (kept with the job's metrics). ``epochs``: the last history rows, not written yet —
    stored here rather than in a transaction of their own (a short job's only ones)."""
    rows: list[Any] = [row for row in (model, prediction) if row is not None] + list(outputs)
    produced = _produced(rows, model, warnings, prediction_id, epochs)

    def write(session: Session) -> bool:
        c = clock(db)
        guarded = (
            update(jobs)
            .where(lease_guard(job_id, lease_token))
            .values(status="succeeded", finished_at=c.now(), **produced, **LEASE_CLEARED)
        )
        if rowcount(session, guarded) != 1:
            return False
        end_attempt(session, c, lease_token=lease_token, outcome="succeeded")
        if epochs:
            write_epoch_rows(db, session, c, job_id, epochs)
        # Flushed a table at a time, in order: the tables have no ORM relationships from which
        # the session could order the inserts itself.
        for _, same_table in itertools.groupby(rows, key=type):
            session.add_all(list(same_table))
            session.flush()
        if prediction is not None and prediction_rows:
            ordered = sorted(prediction_rows, key=lambda r: r.row)
            probabilities = [r.probabilities or [] for r in ordered]
            insert_rows(session, prediction.id, 0, [r.prediction for r in ordered],
                        None if ordered[0].probabilities is None else probabilities)
        if evaluation is not None:
            session.execute(update(tables.Evaluation).where(
                tables.Evaluation.id == evaluation[0]).values(report=evaluation[1]))
        if prediction_id is not None:
            session.execute(update(heads).where(heads.c.id == prediction_id)
                            .values(complete=True))
        drop_checkpoints(session, [job_id])
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
        if row is None:
            return None
        if row[0] == "cancelled":
            end_attempt(session, c, lease_token=lease_token, outcome="cancelled")
        else:  # failed, whether the job is retried (queued) or not
            end_attempt(session, c, lease_token=lease_token, outcome="failed", code=code,
                        message=message)
        if row[0] != "queued":  # ended: it will never resume
            drop_checkpoints(session, [job_id])
        return str(row[0])

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
        if rowcount(session, stmt) != 1:
            return False
        end_attempt(session, c, lease_token=lease_token, outcome="cancelled")
        drop_checkpoints(session, [job_id])
        return True

    return db.run_write(write)
