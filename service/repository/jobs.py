"""Jobs of one tenant: submit (limits, idempotency), read, list, history, cancel."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service import queue, tables
from service.db import Database
from service.errors import Conflict, NotFound, TooManyRequests
from service.repository import page
from service.settings import Settings

RETRY_AFTER_SECONDS = 30
jobs_table: Table = tables.Job.__table__  # type: ignore[assignment]
epochs_table: Table = tables.JobEpoch.__table__  # type: ignore[assignment]


def get_job(session: Session, *, tenant_id: str, job_id: str) -> tables.Job:
    row = session.scalar(
        select(tables.Job).where(tables.Job.id == job_id, tables.Job.tenant_id == tenant_id)
    )
    if row is None:
        raise NotFound(f"There is no job {job_id!r}.")
    return row


def read_job(db: Database, *, tenant_id: str, job_id: str) -> tables.Job:
    with db.read() as session:
        return get_job(session, tenant_id=tenant_id, job_id=job_id)


def job_row(db: Database, *, tenant_id: str, job_id: str) -> Any:
    """The job's row (attributes as `tables.Job`'s) in one SELECT without a Session: the
    routes that only show a job need no ORM object graph."""
    query = select(jobs_table).where(jobs_table.c.id == job_id,
                                     jobs_table.c.tenant_id == tenant_id)
    with db.engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"There is no job {job_id!r}.")
    return row


def history_rows(db: Database, *, tenant_id: str, job_id: str, after: int | None) -> list[Any]:
    """``(epoch, metrics, seconds)`` of the job's epochs in order (``NotFound`` for another
    tenant's job), one connection and two small SELECTs without a Session."""
    query = select(epochs_table.c.epoch, epochs_table.c.metrics, epochs_table.c.seconds).where(
        epochs_table.c.job_id == job_id)
    if after is not None:
        query = query.where(epochs_table.c.epoch > after)
    with db.engine.connect() as conn:
        if conn.execute(select(jobs_table.c.id).where(
                jobs_table.c.id == job_id, jobs_table.c.tenant_id == tenant_id)).first() is None:
            raise NotFound(f"There is no job {job_id!r}.")
        return list(conn.execute(query.order_by(epochs_table.c.epoch)))


def list_jobs(
    db: Database, *, tenant_id: str, status: str | None, limit: int, cursor: str | None
) -> tuple[Sequence[tables.Job], str | None]:
    query = select(tables.Job).where(tables.Job.tenant_id == tenant_id)
    if status:
        query = query.where(tables.Job.status == status)
    with db.read() as session:
        return page(session, query, tables.Job.id, limit=limit, cursor=cursor)


def history(
    session: Session, *, tenant_id: str, job_id: str, after: int | None
) -> Sequence[tables.JobEpoch]:
    get_job(session, tenant_id=tenant_id, job_id=job_id)
    query = select(tables.JobEpoch).where(tables.JobEpoch.job_id == job_id)
    if after is not None:
        query = query.where(tables.JobEpoch.epoch > after)
    return session.scalars(query.order_by(tables.JobEpoch.epoch)).all()


def attempts(session: Session, *, tenant_id: str, job_id: str) -> Sequence[tables.JobAttempt]:
    get_job(session, tenant_id=tenant_id, job_id=job_id)
    query = select(tables.JobAttempt).where(tables.JobAttempt.job_id == job_id)
    return session.scalars(query.order_by(tables.JobAttempt.id)).all()


def submit(
    db: Database,
    *,
    settings: Settings,
    tenant_id: str,
    kind: str,
    dataset_id: str,
    spec: dict[str, Any],
    model_id: str | None = None,
    priority: int = 0,
    max_attempts: int = 3,
    idempotency_key: str | None = None,
    request_sha256: str | None = None,
    progress_epochs: int | None = None,
) -> tuple[tables.Job, bool]:
    """Queue a job; ``created`` is False when an ``Idempotency-Key`` replays an earlier one.
    The tenant's quota is counted in the inserting transaction (`service.queue.enqueue`)."""
    with _as_domain_errors(dataset_id):
        return queue.enqueue(
            db, tenant_id=tenant_id, kind=kind, dataset_id=dataset_id, spec=spec,
            model_id=model_id, priority=priority, max_attempts=max_attempts,
            idempotency_key=idempotency_key, request_sha256=request_sha256,
            progress_epochs=progress_epochs, max_queued=settings.max_queued_jobs_per_tenant,
        )


@contextmanager
def _as_domain_errors(dataset_id: str) -> Iterator[None]:
    """The queue's refusals as the errors the API answers with."""
    try:
        yield
    except queue.QueueFull as exc:
        raise TooManyRequests(str(exc), retry_after=RETRY_AFTER_SECONDS) from exc
    except queue.IdempotencyConflict as exc:
        raise Conflict(str(exc)) from exc
    except IntegrityError as exc:
        # The dataset (or model) was deleted between our read and the insert: its foreign key.
        raise NotFound(
            f"Dataset {dataset_id!r} was deleted while the job was being submitted."
        ) from exc


def cancel(db: Database, *, tenant_id: str, job_id: str) -> tables.Job:
    """Cancel a queued job at once, ask a running one to stop; a finished one is a conflict."""
    before = read_job(db, tenant_id=tenant_id, job_id=job_id)
    if before.status in tables.FINAL_STATUSES:
        raise Conflict(f"Job {job_id!r} has already finished ({before.status}).")
    outcome = queue.request_cancel(db, tenant_id=tenant_id, job_id=job_id)
    if outcome is None:
        raise NotFound(f"There is no job {job_id!r}.")
    if outcome in ("succeeded", "failed"):
        raise Conflict(f"Job {job_id!r} has already finished ({outcome}).")
    return read_job(db, tenant_id=tenant_id, job_id=job_id)
