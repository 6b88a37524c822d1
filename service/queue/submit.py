"""The client side of the queue: enqueueing (idempotently, within a quota), cancelling, counting.

Enqueueing is one transaction per call, whatever the number of jobs: it takes the tenant's turn
(on PostgreSQL the tenant's row ``FOR NO KEY UPDATE``; SQLite's ``BEGIN IMMEDIATE`` already
serializes every writer), then replays an idempotency key, counts the tenant's queued jobs against
its quota, and inserts every job in one statement with one NOTIFY. Counting and inserting under
the one lock is what keeps concurrent submits from overshooting the quota.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, case, func, insert, select, update
from sqlalchemy.orm import Session

from service import tables
from service.db import Database
from service.ids import new_id
from service.queue._sql import Clock, clock, drop_checkpoints, jobs
from service.queue.kinds import job_kind
from service.queue.notify import notify_workers

tenants: Table = tables.Tenant.__table__  # type: ignore[assignment]


class IdempotencyConflict(Exception):
    """The idempotency key was already used for a different request."""

    def __init__(self, job: tables.Job) -> None:
        self.job = job
        super().__init__(
            f"Idempotency-Key {job.idempotency_key!r} was already used for another request "
            f"(job {job.id}); use a new key for a different request"
        )


class QueueFull(Exception):
    """The tenant's queued jobs plus these would pass its quota (nothing was queued)."""

    def __init__(self, *, queued: int, adding: int, limit: int) -> None:
        self.queued, self.adding, self.limit = queued, adding, limit
        asked = "" if adding == 1 else f" and asked for {adding} more"
        super().__init__(
            f"You have {queued} queued jobs{asked}, the limit is {limit}; "
            "retry when some have started."
        )


@dataclass(frozen=True)
class NewJob:
    """One job for `enqueue_many`: what `enqueue` takes, less the tenant."""

    kind: str
    dataset_id: str
    spec: dict[str, Any]
    model_id: str | None = None
    priority: int = 0
    max_attempts: int = 3
    idempotency_key: str | None = None
    request_sha256: str | None = None
    progress_epochs: int | None = None


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
    max_queued: int | None = None,
) -> tuple[tables.Job, bool]:
    """Queue one job (`enqueue_many` of one); returns (job, created). A repeated
    ``idempotency_key`` returns the tenant's existing job (created False) when
    ``request_sha256`` matches, else `IdempotencyConflict`. With ``max_queued``, `QueueFull`
    when the tenant has that many queued jobs already."""
    job = NewJob(
        kind=kind, dataset_id=dataset_id, spec=spec, model_id=model_id, priority=priority,
        max_attempts=max_attempts, idempotency_key=idempotency_key,
        request_sha256=request_sha256, progress_epochs=progress_epochs,
    )
    queued, created = enqueue_many(db, tenant_id=tenant_id, jobs=[job], max_queued=max_queued)
    return queued[0], created


def enqueue_many(
    db: Database, *, tenant_id: str, jobs: Sequence[NewJob], max_queued: int | None = None
) -> tuple[list[tables.Job], bool]:
    """Queue ``jobs`` for one tenant, all or none: one INSERT, one NOTIFY, one transaction.
    Returns (the jobs in the order given, created). `UnknownJobKind` for a kind not in the
    registry; `QueueFull` when the tenant's queued jobs plus these would pass ``max_queued``.
    A batch whose idempotency keys were all used by the same requests is replayed (created
    False); one that reuses some key differently, or only some keys, is `IdempotencyConflict`."""
    if not jobs:
        raise ValueError("enqueue_many needs at least one job")
    for job in jobs:
        job_kind(job.kind)
    keys = [job.idempotency_key for job in jobs if job.idempotency_key is not None]
    if len(set(keys)) != len(keys):
        raise ValueError("two jobs of one batch share an idempotency key")

    def write(session: Session) -> tuple[list[tables.Job], bool]:
        c = clock(db)
        if db.is_postgres:  # the tenant's turn: concurrent submits of one tenant queue here
            session.execute(
                select(tenants.c.id).where(tenants.c.id == tenant_id).with_for_update(
                    key_share=True
                )
            )
        if keys:
            replayed = _replayed(session, tenant_id=tenant_id, jobs=jobs)
            if replayed is not None:
                return replayed, False
        if max_queued is not None:
            _check_quota(session, tenant_id=tenant_id, adding=len(jobs), limit=max_queued)
        values = [job_row(c, tenant_id, job) for job in jobs]
        inserted = session.scalars(insert(tables.Job).values(values).returning(tables.Job))
        by_id = {row.id: row for row in inserted}
        notify_workers(db, session)
        return [by_id[value["id"]] for value in values], True

    return db.run_write(write)


def job_row(c: Clock, tenant_id: str, job: NewJob) -> dict[str, Any]:
    """The ``jobs`` row of a new queued job (also a sweep's trials: ``service.sweeps``)."""
    return {
        "id": new_id("job"),
        "tenant_id": tenant_id,
        "kind": job.kind,
        "status": "queued",
        "dataset_id": job.dataset_id,
        "model_id": job.model_id,
        "spec": job.spec,
        "priority": job.priority,
        "run_after": c.now(),
        "attempts": 0,
        "max_attempts": job.max_attempts,
        "idempotency_key": job.idempotency_key,
        "request_sha256": job.request_sha256,
        "cancel_requested": False,
        "progress_epoch": 0,
        "progress_epochs": job.progress_epochs,
        "created_at": c.now(),
    }


def _replayed(
    session: Session, *, tenant_id: str, jobs: Sequence[NewJob]
) -> list[tables.Job] | None:
    """The jobs an earlier identical request made, or None when no key was used before."""
    keys = [job.idempotency_key for job in jobs]
    found = session.scalars(
        select(tables.Job).where(
            tables.Job.tenant_id == tenant_id, tables.Job.idempotency_key.in_(keys)
        )
    ).all()
    if not found:
        return None
    by_key = {row.idempotency_key: row for row in found}
    for job in jobs:
        earlier = by_key.get(job.idempotency_key)
        if earlier is not None and earlier.request_sha256 != job.request_sha256:
            raise IdempotencyConflict(earlier)
    if len(by_key) != len(jobs):  # a batch is replayed whole or not at all
        raise IdempotencyConflict(found[0])
    return [by_key[job.idempotency_key] for job in jobs]


def _check_quota(session: Session, *, tenant_id: str, adding: int, limit: int) -> None:
    queued = session.execute(
        select(func.count())
        .select_from(jobs)
        .where(jobs.c.tenant_id == tenant_id, jobs.c.status == "queued")
    ).scalar_one()
    if queued + adding > limit:
        raise QueueFull(queued=int(queued), adding=adding, limit=limit)


def request_cancel(db: Database, *, tenant_id: str, job_id: str) -> str | None:
    """Cancel the tenant's job: a queued one is cancelled at once (its checkpoint, from an
    earlier attempt, dropped), a running one is flagged (its worker stops it within a
    heartbeat). Returns the resulting status (a finished job's final status, unchanged: the
    caller answers 409), or None when there is no such job."""

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
            if row[0] == "cancelled":
                drop_checkpoints(session, [job_id])
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
