"""Fairness with a real `descent worker`: one worker busy on tenant B's 50 queued one-epoch jobs;
tenant A submits one, and it starts after at most one more of B's jobs. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from worker_helpers import (
    WorkerProcess,
    insert_dataset,
    job_row,
    logs,
    synthetic_data,
    train_spec,
    wait_for,
)

from service import queue, tables
from service.db import Database
from service.ids import new_id

pytestmark = [pytest.mark.slow, pytest.mark.system]

BACKLOG = 50


def claimed_jobs(db: Database, tenant_id: str) -> int:
    """How many of the tenant's jobs a worker has claimed so far."""
    with db.read() as session:
        query = select(func.count()).where(
            tables.Job.tenant_id == tenant_id, tables.Job.claimed_at.is_not(None)
        )
        return int(session.execute(query).scalar_one())


def test_a_tenant_behind_a_backlog_starts_after_at_most_one_more_job(
    db: Database, tenant: str, start_worker: Callable[..., WorkerProcess]
) -> None:
    X, y = synthetic_data()
    X, y = X[:60], y[:60]  # a tiny dataset: a job is a process start and one short epoch
    b_data = insert_dataset(db, tenant, X, y)
    b_job = queue.NewJob(kind="train", dataset_id=b_data, spec=train_spec(b_data, epochs=1),
                         progress_epochs=1)
    queue.enqueue_many(db, tenant_id=tenant, jobs=[b_job] * BACKLOG)
    a_tenant = new_id("ten")
    with db.write() as session:
        session.add(tables.Tenant(id=a_tenant, name="tenant-a"))
    a_data = insert_dataset(db, a_tenant, X, y)

    worker = start_worker("--concurrency", "1")
    wait_for(lambda: claimed_jobs(db, tenant) >= 2, timeout=60, what="B's jobs to run")
    b_before = claimed_jobs(db, tenant)
    a_job, _ = queue.enqueue(db, tenant_id=a_tenant, kind="train", dataset_id=a_data,
                             spec=train_spec(a_data, epochs=1), progress_epochs=1)
    started = wait_for(lambda: (j := job_row(db, a_job.id)).claimed_at and j, timeout=60,
                       what="A's job to start")
    with db.read() as session:
        b_first = session.execute(
            select(func.count()).where(
                tables.Job.tenant_id == tenant, tables.Job.claimed_at < started.claimed_at
            )
        ).scalar_one()
    assert b_first - b_before <= 1, logs(worker)
    assert b_first < BACKLOG // 2, "B's backlog was nearly done: the test proved nothing"
    done = wait_for(lambda: (j := job_row(db, a_job.id)).status in tables.FINAL_STATUSES and j,
                    timeout=60, what="A's job to finish")
    assert done.status == "succeeded", (done.error_code, done.error_message, logs(worker))
