"""A job's attempts (`job_attempts`): every claim is on record with how it ended, and a lease
the reaper took back is `WORKER_LOST` on its attempt even when the job itself is retried (issue
11, item 8). SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from service import queue
from service.db import Database
from service.repository import jobs as store

LATER = dt.timedelta(hours=1)


def _job(db: Database, tenant: str, dataset_row: Callable[..., str], **fields: object) -> str:
    job, _ = queue.enqueue(db, tenant_id=tenant, kind="train", dataset_id=dataset_row(),
                           spec={"training": {"epochs": 3}}, **fields)  # type: ignore[arg-type]
    return job.id


def _claim(db: Database, worker: str) -> queue.ClaimedJob:
    claimed = queue.claim_next_job(db, worker_id=worker, lease_seconds=30)
    assert claimed is not None
    return claimed


def _attempts(db: Database, tenant: str, job_id: str) -> list[tuple[object, ...]]:
    with db.read() as session:
        rows = store.attempts(session, tenant_id=tenant, job_id=job_id)
        return [(r.attempt, r.worker, r.outcome, r.error_code, r.ended_at is not None)
                for r in rows]


def test_every_attempt_is_recorded_with_its_outcome(
    db: Database, tenant: str, dataset_row: Callable[..., str]
) -> None:
    job_id = _job(db, tenant, dataset_row, max_attempts=5)
    first = _claim(db, "w1")
    assert _attempts(db, tenant, job_id) == [(1, "w1", "running", None, False)]
    assert queue.fail(db, job_id=job_id, lease_token=first.lease_token, code="INTERNAL",
                      message="boom", retry=True) == "queued"

    _wake(db, job_id)
    second = _claim(db, "w2")
    assert queue.reap_expired(db, now=_now() + LATER) == 1  # w2 stopped answering
    _wake(db, job_id)
    third = _claim(db, "w3")
    assert queue.release(db, job_id=job_id, lease_token=third.lease_token)  # a graceful stop
    fourth = _claim(db, "w4")
    assert queue.finish(db, job_id=job_id, lease_token=fourth.lease_token)

    assert _attempts(db, tenant, job_id) == [
        (1, "w1", "failed", "INTERNAL", True),
        (2, "w2", "failed", "WORKER_LOST", True),
        (3, "w3", "released", None, True),
        (3, "w4", "succeeded", None, True),
    ]
    assert not queue.ended_by_its_process(db, lease_token=second.lease_token)
    assert queue.ended_by_its_process(db, lease_token=fourth.lease_token)


def test_a_lost_last_attempt_and_a_cancel(
    db: Database, tenant: str, dataset_row: Callable[..., str]
) -> None:
    lost = _job(db, tenant, dataset_row, max_attempts=1)
    claimed = _claim(db, "w1")
    assert not queue.ended_by_its_process(db, lease_token=claimed.lease_token)  # running
    assert queue.reap_expired(db, now=_now() + LATER) == 1
    assert _attempts(db, tenant, lost) == [(1, "w1", "failed", "WORKER_LOST", True)]

    cancelled = _job(db, tenant, dataset_row)
    claimed = _claim(db, "w1")
    queue.request_cancel(db, tenant_id=tenant, job_id=cancelled)
    assert queue.cancelled(db, job_id=cancelled, lease_token=claimed.lease_token)
    assert _attempts(db, tenant, cancelled) == [(1, "w1", "cancelled", None, True)]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _wake(db: Database, job_id: str) -> None:
    """Make a queued job ready now (its retry backoff is not what these tests are about)."""
    from sqlalchemy import update

    from service import tables

    with db.write() as session:
        session.execute(update(tables.Job).where(tables.Job.id == job_id)
                        .values(run_after=_now() - LATER))
