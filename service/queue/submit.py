"""The client side of the queue: enqueueing (idempotently), cancelling, counting."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from service import tables
from service.db import Database
from service.ids import new_id
from service.queue._sql import clock, jobs, upsert
from service.queue.notify import notify_workers


class IdempotencyConflict(Exception):
    """The idempotency key was already used for a different request."""

    def __init__(self, job: tables.Job) -> None:
        self.job = job
        super().__init__(
            f"Idempotency-Key {job.idempotency_key!r} was already used for another request "
            f"(job {job.id}); use a new key for a different request"
        )


def enqueue(
    db: Database,
    *,
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
    """Queue a job; returns (job, created). A repeated ``idempotency_key`` returns the tenant's
    existing job (created False) when ``request_sha256`` matches, else `IdempotencyConflict`.
    Race-free: the (tenant_id, idempotency_key) unique constraint decides, ON CONFLICT DO NOTHING.
    """

    def write(session: Session) -> tuple[tables.Job, bool]:
        c = clock(db)
        values: dict[str, Any] = {
            "id": new_id("job"),
            "tenant_id": tenant_id,
            "kind": kind,
            "status": "queued",
            "dataset_id": dataset_id,
            "model_id": model_id,
            "spec": spec,
            "priority": priority,
            "run_after": c.now(),
            "attempts": 0,
            "max_attempts": max_attempts,
            "idempotency_key": idempotency_key,
            "request_sha256": request_sha256,
            "cancel_requested": False,
            "progress_epoch": 0,
            "progress_epochs": progress_epochs,
            "created_at": c.now(),
        }
        # With a key, the unique constraint (tenant_id, idempotency_key) decides who inserts.
        key = ["tenant_id", "idempotency_key"] if idempotency_key is not None else None
        stmt = upsert(db, tables.Job, values, key=key)
        job = session.scalars(stmt.returning(tables.Job)).first()
        if job is not None:
            notify_workers(db, session)
            return job, True
        existing = session.scalars(
            select(tables.Job).where(
                tables.Job.tenant_id == tenant_id, tables.Job.idempotency_key == idempotency_key
            )
        ).one()
        if existing.request_sha256 != request_sha256:
            raise IdempotencyConflict(existing)
        return existing, False

    return db.run_write(write)


def request_cancel(db: Database, *, tenant_id: str, job_id: str) -> str | None:
    """Cancel the tenant's job: a queued one is cancelled at once, a running one is flagged
    (its worker stops it within a heartbeat). Returns the resulting status (a finished job's
    final status, unchanged: the caller answers 409), or None when there is no such job."""

    def write(session: Session) -> str | None:
        c = clock(db)
        queued = jobs.c.status == "queued"
        stmt = (
            update(jobs)
            .where(
                jobs.c.id == job_id,
                jobs.c.tenant_id == tenant_id,
                jobs.c.status.in_(("queued", "running")),
            )
            .values(
                status=case((queued, "cancelled"), else_=jobs.c.status),
                finished_at=case((queued, c.now()), else_=jobs.c.finished_at),
                cancel_requested=True,
            )
            .returning(jobs.c.status)
        )
        row = session.execute(stmt).first()
        if row is not None:
            return str(row[0])
        # Not queued or running: finished (its status is final and can't change) or missing.
        final = select(jobs.c.status).where(jobs.c.id == job_id, jobs.c.tenant_id == tenant_id)
        status = session.execute(final).scalar()
        return None if status is None else str(status)

    return db.run_write(write)


def queue_depth(db: Database) -> int:
    """Jobs waiting to run (queued, ready or backing off)."""
    with db.read() as session:
        count = session.execute(
            select(func.count()).select_from(jobs).where(jobs.c.status == "queued")
        ).scalar_one()
    return int(count)
