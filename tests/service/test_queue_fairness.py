"""Whose turn it is: claims are fair across tenants and ``priority`` orders one tenant's jobs only
(`service.queue.fairness`). The queue functions are driven as a worker drives them (claim,
finish, claim …). SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select

from service import queue, tables
from service.db import Database
from service.ids import new_id

LEASE = 60.0


@pytest.fixture
def tenants(db: Database, dataset_row: Callable[..., str]) -> Callable[[str], Any]:
    """``tenants(name)``: a tenant with a dataset; ``.submit(n, **fields)`` queues n jobs."""

    class Tenant:
        def __init__(self, name: str) -> None:
            self.id = new_id("ten")
            with db.write() as session:
                session.add(tables.Tenant(id=self.id, name=f"{name}-{self.id}"))
            self.dataset_id = dataset_row(tenant_id=self.id)

        def submit(self, n: int = 1, **fields: Any) -> list[str]:
            made = []
            for _ in range(n):
                job, _ = queue.enqueue(db, tenant_id=self.id, kind="train",
                                       dataset_id=self.dataset_id, spec={}, **fields)
                made.append(job.id)
            return made

    return Tenant


def claim(db: Database, worker: str = "w") -> queue.ClaimedJob:
    claimed = queue.claim_next_job(db, worker_id=worker, lease_seconds=LEASE)
    assert claimed is not None
    return claimed


def done(db: Database, job: queue.ClaimedJob) -> None:
    assert queue.finish(db, job_id=job.id, lease_token=job.lease_token)


def drain(db: Database) -> Iterator[queue.ClaimedJob]:
    """One worker: claim a job, finish it, claim the next … until the queue is empty."""
    while (job := queue.claim_next_job(db, worker_id="w", lease_seconds=LEASE)) is not None:
        yield job
        done(db, job)


def test_a_tenant_behind_a_backlog_waits_for_one_job_only(db: Database, tenants: Any) -> None:
    """The issue's case: one worker busy on B's 50 queued jobs; A submits one."""
    a, b = tenants("a"), tenants("b")
    b.submit(50)
    running = claim(db)
    assert running.tenant_id == b.id
    (a_job,) = a.submit()
    done(db, running)
    assert claim(db).id == a_job  # no more of B's jobs first


def test_one_worker_alternates_between_tenants(db: Database, tenants: Any) -> None:
    a, b, c = tenants("a"), tenants("b"), tenants("c")
    b.submit(6)
    time.sleep(0.003)  # ids order by the millisecond
    a.submit(2)
    c.submit(1)
    order = [job.tenant_id for job in drain(db)]
    # Nobody served yet: B's oldest job goes first, then the tenants never served, then round
    # and round while two tenants have work, then B alone.
    assert order == [b.id, a.id, c.id, b.id, a.id, b.id, b.id, b.id, b.id]


def test_priority_orders_a_tenants_own_jobs_and_never_anothers(
    db: Database, tenants: Any
) -> None:
    a, b = tenants("a"), tenants("b")
    b_jobs = b.submit(3, priority=100)
    a_low, a_high = a.submit(priority=-100), a.submit(priority=5)
    order = [job.id for job in drain(db)]
    # B's priority 100 does not jump A's queue; A's priority 5 runs before A's older -100.
    assert order == [b_jobs[0], *a_high, b_jobs[1], *a_low, b_jobs[2]]


def test_the_tenant_running_fewest_jobs_goes_first(db: Database, tenants: Any) -> None:
    """Two workers: A holds one with a long job; B's jobs keep finishing. The free worker goes
    to B (0 running) even though B was served more recently than A (1 running)."""
    a, b = tenants("a"), tenants("b")
    a.submit(3)
    b.submit(3)
    long = claim(db, "w1")
    assert long.tenant_id == a.id
    for _ in range(3):
        short = claim(db, "w2")
        assert short.tenant_id == b.id
        done(db, short)
    assert claim(db, "w2").tenant_id == a.id  # B has nothing left: A's turn


def test_a_job_backing_off_does_not_hold_its_tenants_turn(db: Database, tenants: Any) -> None:
    a, b = tenants("a"), tenants("b")
    (later,) = a.submit()
    with db.write() as session:
        job = session.get(tables.Job, later)
        assert job is not None
        job.run_after = tables.utcnow() + dt.timedelta(hours=1)
    b_jobs = b.submit(2)
    assert [job.id for job in drain(db)] == b_jobs


def test_every_claim_is_stamped(db: Database, tenants: Any) -> None:
    (job_id,) = tenants("a").submit()
    first = claim(db)
    assert queue.release(db, job_id=job_id, lease_token=first.lease_token)
    with db.read() as session:
        row = session.get(tables.Job, job_id)
        assert row is not None and row.claimed_at is not None
        stamped, started = row.claimed_at, row.started_at
    time.sleep(0.01)
    claim(db)
    with db.read() as session:
        row = session.get(tables.Job, job_id)
        assert row is not None and row.claimed_at is not None
        assert row.claimed_at > stamped and row.started_at == started


def test_a_job_being_claimed_elsewhere_is_passed_over_not_waited_on(
    db: Database, tenants: Any
) -> None:
    if not db.is_postgres:
        pytest.skip("SQLite claims one at a time under its write lock: nothing to pass over")
    a, b = tenants("a"), tenants("b")
    (a_job,) = a.submit()
    (b_job,) = b.submit()
    with db.engine.connect() as other_worker:  # holds A's job as a claim in flight would
        other_worker.execute(
            select(tables.Job.id).where(tables.Job.id == a_job).with_for_update()
        )
        began = time.monotonic()
        assert claim(db).id == b_job
        assert time.monotonic() - began < 5
        other_worker.rollback()
    assert claim(db).id == a_job


def test_concurrent_claims_across_tenants_take_each_job_once(
    db: Database, tenants: Any
) -> None:
    for name in "abcde":
        tenants(name).submit(12)
    claimed: list[str] = []
    start = threading.Barrier(4)

    def worker(name: str) -> None:
        start.wait(timeout=30)
        while (job := queue.claim_next_job(db, worker_id=name, lease_seconds=LEASE)) is not None:
            claimed.append(job.id)
            done(db, job)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(claimed) == len(set(claimed)) == 60
    assert queue.queue_depth(db) == 0
