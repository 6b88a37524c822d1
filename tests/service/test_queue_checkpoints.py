"""A job's checkpoint goes with the transaction that ends the job, however it ends: finished,
failed, cancelled (queued or running), given up by the reaper; a job queued again for a retry
keeps it to resume from. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from service import queue, tables
from service.db import Database

LEASE = 60.0


@pytest.fixture
def checkpointed(
    db: Database, tenant: str, dataset_row: Callable[..., str]
) -> Callable[..., queue.ClaimedJob]:
    """``checkpointed(max_attempts=3)``: a claimed job with a checkpoint at epoch 2."""

    def make(max_attempts: int = 3) -> queue.ClaimedJob:
        queue.enqueue(db, tenant_id=tenant, kind="train", dataset_id=dataset_row(), spec={},
                      max_attempts=max_attempts)
        job = queue.claim_next_job(db, worker_id="w", lease_seconds=LEASE)
        assert job is not None
        assert queue.save_checkpoint(db, job_id=job.id, lease_token=job.lease_token, epoch=2,
                                     state=b"state")
        return job

    return make


def has_checkpoint(db: Database, job_id: str) -> bool:
    return queue.load_checkpoint(db, job_id=job_id) is not None


def status(db: Database, job_id: str) -> str:
    with db.read() as session:
        job = session.get(tables.Job, job_id)
        assert job is not None
        return job.status


def expire(db: Database, *job_ids: str) -> None:
    with db.write() as session:
        for job_id in job_ids:
            job = session.get(tables.Job, job_id)
            assert job is not None
            job.lease_expires_at = tables.utcnow() - dt.timedelta(seconds=1)


def test_a_failed_job_loses_its_checkpoint_a_retried_one_keeps_it(
    db: Database, checkpointed: Callable[..., queue.ClaimedJob]
) -> None:
    retried, failed = checkpointed(), checkpointed()
    lease = {"code": "INTERNAL", "message": "boom"}
    assert queue.fail(db, job_id=retried.id, lease_token=retried.lease_token, retry=True,
                      **lease) == "queued"
    assert queue.fail(db, job_id=failed.id, lease_token=failed.lease_token, retry=False,
                      **lease) == "failed"
    assert has_checkpoint(db, retried.id) and not has_checkpoint(db, failed.id)


def test_a_cancelled_job_loses_its_checkpoint_on_every_path(
    db: Database, tenant: str, checkpointed: Callable[..., queue.ClaimedJob]
) -> None:
    stopped, failing, released, queued = (checkpointed() for _ in range(4))
    for job in (stopped, failing, released):
        assert queue.request_cancel(db, tenant_id=tenant, job_id=job.id) == "running"
        assert has_checkpoint(db, job.id)  # a cancel request alone ends nothing
    assert queue.cancelled(db, job_id=stopped.id, lease_token=stopped.lease_token)
    assert queue.fail(db, job_id=failing.id, lease_token=failing.lease_token, code="INTERNAL",
                      message="died", retry=True) == "cancelled"
    assert queue.release(db, job_id=released.id, lease_token=released.lease_token)
    # A queued job with a checkpoint (released at a shutdown) cancelled straight from the queue.
    assert queue.release(db, job_id=queued.id, lease_token=queued.lease_token)
    assert has_checkpoint(db, queued.id)
    assert queue.request_cancel(db, tenant_id=tenant, job_id=queued.id) == "cancelled"
    for job in (stopped, failing, released, queued):
        assert status(db, job.id) == "cancelled" and not has_checkpoint(db, job.id), job.id


def test_the_reaper_drops_the_checkpoints_of_the_jobs_it_ends(
    db: Database, tenant: str, checkpointed: Callable[..., queue.ClaimedJob]
) -> None:
    retry, lost, cancel, alive = checkpointed(), checkpointed(1), checkpointed(), checkpointed()
    queue.request_cancel(db, tenant_id=tenant, job_id=cancel.id)
    expire(db, retry.id, lost.id, cancel.id)
    assert queue.reap_expired(db) == 3
    assert [status(db, j.id) for j in (retry, lost, cancel, alive)] == [
        "queued", "failed", "cancelled", "running"
    ]
    assert has_checkpoint(db, retry.id) and has_checkpoint(db, alive.id)
    assert not has_checkpoint(db, lost.id) and not has_checkpoint(db, cancel.id)
