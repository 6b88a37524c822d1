"""The queue under contention: worker processes claiming at once, concurrent idempotent enqueues,
the reaper racing a finishing worker. SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from service import queue, tables
from service.db import Database, connect

JOBS = 200
WORKERS = 4


def _claim_until_empty(url: str, worker: str, start: Any, results: Any) -> None:
    """A worker process: its own connection, claims until the queue is empty."""
    db = connect(url, pool_size=1)
    try:
        queue.queue_depth(db)  # connected and warm before the race starts
        start.wait(timeout=60)
        claimed = []
        while (job := queue.claim_next_job(db, worker_id=worker, lease_seconds=60)) is not None:
            claimed.append((job.id, job.lease_token))
        results.put((worker, claimed))
    finally:
        db.dispose()


@pytest.mark.slow
def test_no_job_is_claimed_twice(
    db: Database, tenant: str, dataset_row: Callable[..., str]
) -> None:
    dataset_id = dataset_row()
    for _ in range(JOBS):
        queue.enqueue(db, tenant_id=tenant, kind="train", dataset_id=dataset_id, spec={})
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Barrier(WORKERS), ctx.Queue()
    procs = [
        ctx.Process(target=_claim_until_empty, args=(db.url, f"w{i}", start, results))
        for i in range(WORKERS)
    ]
    for proc in procs:
        proc.start()
    by_worker = dict(results.get(timeout=120) for _ in procs)
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0

    claims = [claim for claimed in by_worker.values() for claim in claimed]
    ids = Counter(job_id for job_id, _ in claims)
    assert len(ids) == JOBS and set(ids.values()) == {1}, "a job was claimed twice"
    assert sum(1 for claimed in by_worker.values() if claimed) >= 2, "no contention happened"
    with db.read() as session:
        rows = session.execute(
            select(
                tables.Job.id, tables.Job.lease_token, tables.Job.lease_owner, tables.Job.attempts
            )
        ).all()
    assert all(attempts == 1 for *_, attempts in rows)
    owner = {job_id: worker for worker, claimed in by_worker.items() for job_id, _ in claimed}
    assert {(r.id, r.lease_token) for r in rows} == set(claims)
    assert all(owner[r.id] == r.lease_owner for r in rows)
    assert queue.queue_depth(db) == 0


def test_concurrent_enqueues_with_one_key_make_one_job(
    db: Database, tenant: str, dataset_row: Callable[..., str]
) -> None:
    dataset_id = dataset_row()
    threads = 8
    start = threading.Barrier(threads)
    outcomes: list[tuple[str, bool]] = []
    errors: list[BaseException] = []

    def submit() -> None:
        try:
            start.wait(timeout=10)
            job, created = queue.enqueue(
                db,
                tenant_id=tenant,
                kind="train",
                dataset_id=dataset_id,
                spec={"same": True},
                idempotency_key="retry-me",
                request_sha256="f" * 64,
            )
            outcomes.append((job.id, created))
        except BaseException as exc:  # reported below, with the test's failure
            errors.append(exc)

    workers = [threading.Thread(target=submit) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not errors, errors
    assert len({job_id for job_id, _ in outcomes}) == 1
    assert sorted(created for _, created in outcomes) == [False] * (threads - 1) + [True]
    with db.read() as session:
        assert session.execute(select(func.count()).select_from(tables.Job)).scalar_one() == 1


def test_reaper_and_finish_racing_leave_one_consistent_outcome(
    db: Database, tenant: str, dataset_row: Callable[..., str]
) -> None:
    """Whichever of the reaper and a late finish goes first wins; the other changes nothing."""
    dataset_id = dataset_row()
    rounds = 20
    for _ in range(rounds):
        queue.enqueue(db, tenant_id=tenant, kind="train", dataset_id=dataset_id, spec={})
    claimed = [queue.claim_next_job(db, worker_id="w", lease_seconds=0.0) for _ in range(rounds)]
    results: dict[str, Any] = {}

    def reap() -> None:
        results["reaped"] = sum(queue.reap_expired(db) for _ in range(5))

    def finish() -> None:
        results["finished"] = [
            queue.finish(db, job_id=job.id, lease_token=job.lease_token)
            for job in claimed
            if job is not None
        ]

    workers = [threading.Thread(target=reap), threading.Thread(target=finish)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    finished = sum(results["finished"])
    assert finished + results["reaped"] == rounds
    with db.read() as session:
        statuses = Counter(session.execute(select(tables.Job.status)).scalars())
    assert statuses == Counter({"succeeded": finished, "queued": rounds - finished}) - Counter()
