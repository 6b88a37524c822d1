"""Claiming jobs and holding their leases: claim, heartbeat, release, and the reaper."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from service.db import Database
from service.queue._sql import LEASE_CLEARED, clock, drop_checkpoints, jobs, lease_guard
from service.queue.attempts import (
    WORKER_LOST_MESSAGE,
    end_attempt,
    end_lost_attempts,
    start_attempt,
)
from service.queue.fairness import NOW, next_in_turn
from service.queue.notify import notify_workers


@dataclass(frozen=True)
class ClaimedJob:
    id: str
    tenant_id: str
    kind: str
    dataset_id: str
    model_id: str | None
    spec: dict[str, Any]
    attempts: int
    max_attempts: int
    lease_token: str


@dataclass(frozen=True)
class Heartbeat:
    cancel_requested: bool


def claim_next_job(db: Database, *, worker_id: str, lease_seconds: float) -> ClaimedJob | None:
    """Lease the ready job whose turn it is to ``worker_id``, or None: fair across tenants,
    by priority then age within one (`service.queue.fairness`).

    One statement. PostgreSQL: the CTE locks one queued row, skipping rows other workers hold;
    SQLite: ``UPDATE … WHERE id = (SELECT …)`` under the write lock (BEGIN IMMEDIATE).
    """
    token = uuid.uuid4().hex

    def claim(session: Session) -> ClaimedJob | None:
        c = clock(db)
        if db.is_postgres:
            picked = next_in_turn(postgres=True).cte("c").prefix_with("MATERIALIZED")
            stmt = update(jobs).where(jobs.c.id == picked.c.id)
        else:
            ready = next_in_turn(postgres=False).scalar_subquery()
            stmt = update(jobs).where(jobs.c.id == ready)
        stmt = (
            stmt.where(jobs.c.status == "queued")
            .values(
                status="running",
                attempts=jobs.c.attempts + 1,
                lease_owner=worker_id,
                lease_token=token,
                lease_expires_at=c.after(lease_seconds),
                heartbeat_at=c.now(),
                claimed_at=c.now(),
                started_at=case((jobs.c.started_at.is_(None), c.now()), else_=jobs.c.started_at),
            )
            .returning(
                jobs.c.id,
                jobs.c.tenant_id,
                jobs.c.kind,
                jobs.c.dataset_id,
                jobs.c.model_id,
                jobs.c.spec,
                jobs.c.attempts,
                jobs.c.max_attempts,
                jobs.c.lease_token,
            )
        )
        row = session.execute(stmt, {} if db.is_postgres else {NOW: c.fixed}).first()
        if row is None:
            return None
        start_attempt(session, c, job_id=row.id, attempt=row.attempts, worker=worker_id,
                      lease_token=token)
        return ClaimedJob(**row._asdict())

    return db.run_write(claim)


def heartbeat(
    db: Database, *, job_id: str, lease_token: str, lease_seconds: float
) -> Heartbeat | None:
    """Renew the lease; None when it is lost (the worker must stop the job and write nothing)."""

    def beat(session: Session) -> Heartbeat | None:
        c = clock(db)
        stmt = (
            update(jobs)
            .where(lease_guard(job_id, lease_token))
            .values(lease_expires_at=c.after(lease_seconds), heartbeat_at=c.now())
            .returning(jobs.c.cancel_requested)
        )
        row = session.execute(stmt).first()
        return None if row is None else Heartbeat(cancel_requested=bool(row[0]))

    return db.run_write(beat)


def release(db: Database, *, job_id: str, lease_token: str) -> bool:
    """Give a job back at shutdown without spending its attempt (queued again at once; a job
    whose cancel was requested is cancelled instead, and its checkpoint dropped). False when the
    lease was lost."""

    def give_back(session: Session) -> bool:
        c = clock(db)
        stmt = (
            update(jobs)
            .where(lease_guard(job_id, lease_token))
            .values(
                status=case((jobs.c.cancel_requested, "cancelled"), else_="queued"),
                finished_at=case((jobs.c.cancel_requested, c.now()), else_=None),
                attempts=jobs.c.attempts - 1,
                run_after=c.now(),
                **LEASE_CLEARED,
            )
            .returning(jobs.c.status)
        )
        status = session.execute(stmt).scalar()
        if status is None:
            return False
        # Released: not counted (the next claim has the same attempt number), but on record.
        end_attempt(session, c, lease_token=lease_token,
                    outcome="cancelled" if status == "cancelled" else "released")
        if status == "cancelled":
            drop_checkpoints(session, [job_id])
        else:
            notify_workers(db, session)  # another worker may take it at once
        return True

    return db.run_write(give_back)


def reap_expired(db: Database, *, now: dt.datetime | None = None) -> int:
    """Take back every running job whose lease expired before ``now`` (default: the database's
    clock): cancelled if cancel was requested, failed with WORKER_LOST at ``max_attempts``,
    otherwise queued again after a backoff. One guarded UPDATE (and, in its transaction, the
    checkpoints of the jobs it ended are dropped); returns the rows changed."""

    def reap(session: Session) -> int:
        c = clock(db, now)
        cancelled = jobs.c.cancel_requested
        exhausted = jobs.c.attempts >= jobs.c.max_attempts
        expired = (jobs.c.status == "running", jobs.c.lease_expires_at < c.now())
        stmt = update(jobs).where(*expired)
        if db.is_postgres:
            # A row held by a stalled transaction (a worker paused mid-write) is skipped rather
            # than waited on, so one zombie cannot block the reaper; the next reap takes it.
            unlocked = select(jobs.c.id).where(*expired).with_for_update(skip_locked=True)
            stmt = stmt.where(jobs.c.id.in_(unlocked))
        stmt = (
            stmt
            .values(
                status=case((cancelled, "cancelled"), (exhausted, "failed"), else_="queued"),
                error_code=case((cancelled, None), (exhausted, "WORKER_LOST"), else_=None),
                error_message=case((cancelled, None), (exhausted, WORKER_LOST_MESSAGE), else_=None),
                finished_at=case((cancelled, c.now()), (exhausted, c.now()), else_=None),
                run_after=case(
                    (cancelled, jobs.c.run_after), (exhausted, jobs.c.run_after), else_=c.retry_at()
                ),
                **LEASE_CLEARED,
            )
            .returning(jobs.c.id, jobs.c.status)
        )
        reaped = session.execute(stmt).all()
        end_lost_attempts(session, c, [job_id for job_id, _ in reaped])
        drop_checkpoints(session, [job_id for job_id, status in reaped if status != "queued"])
        return len(reaped)

    return db.run_write(reap)
