"""A heartbeat that races the job's own outcome is no lost lease (issue 11, item 8).

The training process writes the outcome (which ends the lease) and then exits; a heartbeat in
between matches no row. Here the process is a real one that has "written its outcome" (we write
it for it, as `queue.finish` would from inside) and is slow to exit: the supervisor must neither
warn "lease lost" nor kill it. A lease the reaper took back is still lost, warned and killed.
Real database (SQLite and PostgreSQL), real processes."""

from __future__ import annotations

import datetime as dt
import logging
import subprocess
import sys
from collections.abc import Iterator

import pytest

from service import queue, tables
from service.db import Database
from worker.children import Children
from worker.leases import renew_leases

SLOW_EXIT = [sys.executable, "-c", "import time; time.sleep(30)"]


@pytest.fixture
def children(db: Database) -> Iterator[Children]:
    group = Children(
        db=db, max_job_seconds=3600, memory_limit_message="", on_slot_free=lambda: None
    )
    yield group
    for running in group.running.values():
        running.process.kill()
        running.process.wait()


def _running(db: Database, children: Children, tenant: str, dataset_id: str) -> queue.ClaimedJob:
    queue.enqueue(db, tenant_id=tenant, kind="train", dataset_id=dataset_id,
                  spec={"training": {"epochs": 1}})
    job = queue.claim_next_job(db, worker_id="w1", lease_seconds=30)
    assert job is not None
    process = subprocess.Popen(SLOW_EXIT, stdin=subprocess.PIPE)
    children.start(job, process, {}, next_heartbeat=0.0)
    return job


def _heartbeat(db: Database, children: Children) -> None:
    for running in children.running.values():
        running.next_heartbeat = 0.0
    renew_leases(children, db=db, lease_seconds=30, heartbeat_seconds=0.3)


def test_a_heartbeat_after_the_jobs_own_outcome_is_no_lost_lease(
    db: Database, children: Children, tenant: str, dataset_row: object,
    caplog: pytest.LogCaptureFixture,
) -> None:
    job = _running(db, children, tenant, dataset_row())  # type: ignore[operator]
    assert queue.finish(db, job_id=job.id, lease_token=job.lease_token)  # as its process does
    with caplog.at_level(logging.INFO, logger="descent.worker"):
        _heartbeat(db, children)
        _heartbeat(db, children)
    assert "lease lost" not in caplog.text
    running = children.running[job.id]
    assert running.process.poll() is None  # left to exit on its own, collected then
    running.process.kill()
    running.process.wait()
    children.collect_exits()
    assert not children.running


def test_a_lease_the_reaper_took_is_lost(
    db: Database, children: Children, tenant: str, dataset_row: object,
    caplog: pytest.LogCaptureFixture,
) -> None:
    job = _running(db, children, tenant, dataset_row())  # type: ignore[operator]
    assert queue.reap_expired(db, now=tables.utcnow() + dt.timedelta(hours=1)) == 1
    with caplog.at_level(logging.INFO, logger="descent.worker"):
        _heartbeat(db, children)
    assert f"job {job.id}: lease lost" in caplog.text
    assert job.id not in children.running
