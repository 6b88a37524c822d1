"""A job's attempts (`job_attempts`): a row per claim, written in the claim's transaction and
ended in the transaction that ends the attempt — ``finish``, ``fail``, ``cancelled``,
``release``, or the reaper when the worker stopped answering (``failed`` with ``WORKER_LOST``).
So a retried job keeps why each earlier attempt ended, which its own ``error`` (cleared for the
retry) does not."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from service import tables
from service.db import Database
from service.queue._sql import Clock

attempts: Table = tables.JobAttempt.__table__  # type: ignore[assignment]

WORKER_LOST = "WORKER_LOST"
WORKER_LOST_MESSAGE = "the worker running this job stopped answering (its lease expired)"


def start_attempt(
    session: Session, c: Clock, *, job_id: str, attempt: int, worker: str, lease_token: str
) -> None:
    session.execute(insert(attempts).values(
        job_id=job_id, attempt=attempt, worker=worker, lease_token=lease_token,
        outcome="running", started_at=c.now(),
    ))


def end_attempt(
    session: Session, c: Clock, *, lease_token: str, outcome: str,
    code: str | None = None, message: str | None = None,
) -> None:
    """End the attempt of ``lease_token`` (its job's lease-guarded write has just matched)."""
    session.execute(
        update(attempts)
        .where(attempts.c.lease_token == lease_token, attempts.c.outcome == "running")
        .values(outcome=outcome, error_code=code, error_message=message, ended_at=c.now())
    )


def end_lost_attempts(session: Session, c: Clock, job_ids: Collection[str]) -> None:
    """The reaper took these jobs back: their running attempts were lost with their worker."""
    if job_ids:
        session.execute(
            update(attempts)
            .where(attempts.c.job_id.in_(list(job_ids)), attempts.c.outcome == "running")
            .values(outcome="failed", error_code=WORKER_LOST, error_message=WORKER_LOST_MESSAGE,
                    ended_at=c.now())
        )


def ended_by_its_process(db: Database, *, lease_token: str) -> bool:
    """Whether the attempt of ``lease_token`` has ended other than by the reaper: its training
    process wrote the outcome, so a heartbeat that matches no row lost nothing."""
    with db.read() as session:
        row = session.execute(
            select(attempts.c.outcome, attempts.c.error_code)
            .where(attempts.c.lease_token == lease_token)
        ).first()
    return row is not None and row.outcome != "running" and row.error_code != WORKER_LOST
