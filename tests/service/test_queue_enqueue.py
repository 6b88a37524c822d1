"""Enqueueing: `enqueue_many` (one statement, all or none, one NOTIFY), idempotent batches, and the
per-tenant quota counted in the inserting transaction, also under 60 concurrent submits through
the real submit path. SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from service import queue, tables
from service.db import Database
from service.errors import TooManyRequests
from service.repository import jobs as job_store
from service.settings import Settings

MISSING_DATASET = "ds_01M80M9KKSKY1DXHSBH4WP2T09"


def jobs_of(db: Database, tenant: str, status: str | None = None) -> int:
    query = select(func.count()).select_from(tables.Job).where(tables.Job.tenant_id == tenant)
    if status is not None:
        query = query.where(tables.Job.status == status)
    with db.read() as session:
        return int(session.execute(query).scalar_one())


@pytest.fixture
def statements(db: Database) -> Iterator[list[str]]:
    """Every SQL statement the test's database runs, as sent."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


def batch(dataset_id: str, n: int, **fields: Any) -> list[queue.NewJob]:
    return [
        queue.NewJob(kind="train", dataset_id=dataset_id, spec={"trial": i}, **fields)
        for i in range(n)
    ]


def test_enqueue_many_is_one_insert_and_one_notify(
    db: Database, tenant: str, dataset_row: Callable[..., str], statements: list[str]
) -> None:
    new = batch(dataset_row(), 5, priority=3)
    made, created = queue.enqueue_many(db, tenant_id=tenant, jobs=new)
    assert created and [job.spec for job in made] == [{"trial": i} for i in range(5)]
    assert len({job.id for job in made}) == 5
    assert all((job.status, job.priority, job.tenant_id) == ("queued", 3, tenant) for job in made)
    inserts = [s for s in statements if s.startswith("INSERT INTO jobs")]
    notifies = [s for s in statements if s.startswith("NOTIFY")]
    assert len(inserts) == 1, inserts
    assert len(notifies) == (1 if db.is_postgres else 0)
    assert jobs_of(db, tenant, "queued") == queue.queue_depth(db) == 5


def test_enqueue_many_is_all_or_none(
    db: Database, tenant: str, dataset_row: Callable[..., str]
) -> None:
    good = batch(dataset_row(), 2)
    with pytest.raises(IntegrityError):  # a dataset that does not exist: its foreign key
        queue.enqueue_many(db, tenant_id=tenant, jobs=[*good, *batch(MISSING_DATASET, 1)])
    unknown = queue.NewJob(kind="no-such-kind", dataset_id=good[0].dataset_id, spec={})
    with pytest.raises(queue.UnknownJobKind, match="no-such-kind"):
        queue.enqueue_many(db, tenant_id=tenant, jobs=[*good, unknown])
    with pytest.raises(ValueError, match="at least one"):
        queue.enqueue_many(db, tenant_id=tenant, jobs=[])
    assert jobs_of(db, tenant) == 0


def test_the_quota_counts_the_whole_batch(
    db: Database, tenant: str, dataset_row: Callable[..., str]
) -> None:
    dataset_id = dataset_row()
    queue.enqueue_many(db, tenant_id=tenant, jobs=batch(dataset_id, 8), max_queued=10)
    with pytest.raises(queue.QueueFull) as refused:
        queue.enqueue_many(db, tenant_id=tenant, jobs=batch(dataset_id, 3), max_queued=10)
    assert (refused.value.queued, refused.value.adding, refused.value.limit) == (8, 3, 10)
    assert "asked for 3 more" in str(refused.value) and jobs_of(db, tenant) == 8
    queue.enqueue_many(db, tenant_id=tenant, jobs=batch(dataset_id, 2), max_queued=10)
    with pytest.raises(queue.QueueFull, match="You have 10 queued jobs, the limit is 10"):
        queue.enqueue(db, tenant_id=tenant, kind="train", dataset_id=dataset_id, spec={},
                      max_queued=10)
    # Only queued jobs count: one claimed frees a place.
    assert queue.claim_next_job(db, worker_id="w", lease_seconds=60) is not None
    queue.enqueue(db, tenant_id=tenant, kind="train", dataset_id=dataset_id, spec={},
                  max_queued=10)
    assert jobs_of(db, tenant, "queued") == 10 and jobs_of(db, tenant) == 11


def test_a_batch_replays_whole_or_conflicts(
    db: Database, tenant: str, dataset_row: Callable[..., str]
) -> None:
    dataset_id = dataset_row()

    def keyed(*keys: str, sha: str = "a") -> list[queue.NewJob]:
        return [
            queue.NewJob(kind="train", dataset_id=dataset_id, spec={}, idempotency_key=key,
                         request_sha256=sha * 64)
            for key in keys
        ]

    first, created = queue.enqueue_many(db, tenant_id=tenant, jobs=keyed("s:0", "s:1"))
    again, created_again = queue.enqueue_many(db, tenant_id=tenant, jobs=keyed("s:0", "s:1"))
    assert created and not created_again
    assert [job.id for job in again] == [job.id for job in first]
    with pytest.raises(queue.IdempotencyConflict, match="s:1"):
        queue.enqueue_many(db, tenant_id=tenant, jobs=keyed("s:1", sha="b"))
    with pytest.raises(queue.IdempotencyConflict):  # part replay, part new: neither
        queue.enqueue_many(db, tenant_id=tenant, jobs=keyed("s:0", "s:2"))
    with pytest.raises(ValueError, match="share an idempotency key"):
        queue.enqueue_many(db, tenant_id=tenant, jobs=keyed("s:3", "s:3"))
    assert jobs_of(db, tenant) == 2


def test_a_replay_is_answered_at_the_quota(
    db: Database, tenant: str, dataset_row: Callable[..., str]
) -> None:
    fields: dict[str, Any] = {
        "tenant_id": tenant, "kind": "train", "dataset_id": dataset_row(), "spec": {},
        "idempotency_key": "once", "request_sha256": "c" * 64, "max_queued": 1,
    }
    job, created = queue.enqueue(db, **fields)
    assert created
    replayed, created_again = queue.enqueue(db, **fields)  # at the quota, a replay still answers
    assert replayed.id == job.id and not created_again
    with pytest.raises(queue.QueueFull):
        queue.enqueue(db, **{**fields, "idempotency_key": "twice"})


SUBMITTERS = 60
LIMIT = 40


def test_concurrent_submits_never_pass_the_quota(
    db: Database, tenant: str, dataset_row: Callable[..., str]
) -> None:
    """60 threads submit at once through the real submit path; exactly LIMIT are queued."""
    dataset_id = dataset_row()
    settings = Settings(database_url=db.url, max_queued_jobs_per_tenant=LIMIT)
    start = threading.Barrier(SUBMITTERS)
    accepted: list[str] = []
    refused: list[TooManyRequests] = []
    errors: list[BaseException] = []

    def submit() -> None:
        try:
            start.wait(timeout=30)
            job, _ = job_store.submit(
                db, settings=settings, tenant_id=tenant, kind="train", dataset_id=dataset_id,
                spec={},
            )
            accepted.append(job.id)
        except TooManyRequests as exc:
            refused.append(exc)
        except BaseException as exc:  # reported below, with the test's failure
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(SUBMITTERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert jobs_of(db, tenant, "queued") == len(accepted) == LIMIT
    assert len(refused) == SUBMITTERS - LIMIT
    assert all(exc.status == 429 and exc.headers["Retry-After"] for exc in refused)
