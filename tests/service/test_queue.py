"""The job queue, one process: claiming, the lease guard on every write, outcomes, cancel,
retries and backoff, release, the reaper, idempotent enqueue. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from service import queue, tables
from service.db import Database
from service.ids import new_id
from service.queue import backoff

LEASE = 30.0
HOUR = dt.timedelta(hours=1)

MakeJob = Callable[..., str]


@pytest.fixture
def make_job(db: Database, tenant: str, dataset_row: Callable[..., str]) -> MakeJob:
    """Enqueue a train job for ``tenant`` on a fresh dataset; returns its id."""

    def make(**kwargs: Any) -> str:
        fields: dict[str, Any] = {
            "tenant_id": tenant,
            "kind": "train",
            "dataset_id": dataset_row(),
            "spec": {"training": {"epochs": 3}},
            **kwargs,
        }
        job, created = queue.enqueue(db, **fields)
        assert created
        return job.id

    return make


def get_job(db: Database, job_id: str) -> tables.Job:
    with db.read() as session:
        job = session.get(tables.Job, job_id)
        assert job is not None
        return job


def count(db: Database, table: type[tables.Base], **where: Any) -> int:
    with db.read() as session:
        stmt = select(func.count()).select_from(table).filter_by(**where)
        return int(session.execute(stmt).scalar_one())


def claim(db: Database, lease_seconds: float = LEASE, worker: str = "w1") -> queue.ClaimedJob:
    claimed = queue.claim_next_job(db, worker_id=worker, lease_seconds=lease_seconds)
    assert claimed is not None
    return claimed


def model_for(job: queue.ClaimedJob) -> tables.Model:
    return tables.Model(
        id=new_id("mdl"),
        tenant_id=job.tenant_id,
        job_id=job.id,
        dataset_id=job.dataset_id,
        task="classification",
        spec=job.spec,
        n_features=1,
        n_targets=1,
        classes=[0, 1],
        metrics={"loss": 0.1},
        epochs_trained=3,
        weights=b"weights",
        weights_sha256="0" * 64,
    )


def expire(db: Database, job_id: str) -> None:
    """The lease ran out (as if the worker went silent), without waiting for it."""
    with db.write() as session:
        job = session.get(tables.Job, job_id)
        assert job is not None
        job.lease_expires_at = tables.utcnow() - dt.timedelta(seconds=1)


# --- enqueue and claim ----------------------------------------------------------------------


def test_enqueue_then_claim_leases_the_job(db: Database, make_job: MakeJob) -> None:
    job_id = make_job(progress_epochs=3)
    assert queue.queue_depth(db) == 1
    before = tables.utcnow()
    claimed = claim(db, worker="worker-a")
    assert (claimed.id, claimed.kind, claimed.attempts, claimed.max_attempts) == (
        job_id,
        "train",
        1,
        3,
    )
    assert claimed.spec == {"training": {"epochs": 3}}
    job = get_job(db, job_id)
    assert job.status == "running" and job.lease_owner == "worker-a"
    assert job.lease_token == claimed.lease_token and len(claimed.lease_token) == 32
    assert job.started_at is not None and job.lease_expires_at is not None
    assert job.lease_expires_at - before >= dt.timedelta(seconds=LEASE - 1)
    assert queue.queue_depth(db) == 0
    assert queue.claim_next_job(db, worker_id="w2", lease_seconds=LEASE) is None


def test_claim_order_is_priority_then_age_and_respects_run_after(
    db: Database, make_job: MakeJob
) -> None:
    old = make_job()
    time.sleep(0.003)  # ids order by the millisecond
    new = make_job()
    urgent = make_job(priority=5)
    later = make_job(priority=9)
    with db.write() as session:
        job = session.get(tables.Job, later)
        assert job is not None
        job.run_after = tables.utcnow() + HOUR
    assert [claim(db).id for _ in range(3)] == [urgent, old, new]
    assert queue.claim_next_job(db, worker_id="w", lease_seconds=LEASE) is None
    assert not queue.wait_for_work(db, timeout=0.05)
    assert queue.queue_depth(db) == 1


def test_wait_for_work_sees_a_ready_job(db: Database, make_job: MakeJob) -> None:
    make_job()
    assert queue.wait_for_work(db, timeout=1)


def test_started_at_is_kept_across_attempts(db: Database, make_job: MakeJob) -> None:
    job_id = make_job()
    first = claim(db)
    started = get_job(db, job_id).started_at
    assert queue.release(db, job_id=job_id, lease_token=first.lease_token)
    claim(db)
    assert get_job(db, job_id).started_at == started


# --- idempotency -----------------------------------------------------------------------------


def test_same_idempotency_key_and_body_returns_the_same_job(
    db: Database, tenant: str, dataset_row: Callable[..., str]
) -> None:
    fields: dict[str, Any] = {
        "tenant_id": tenant,
        "kind": "train",
        "dataset_id": dataset_row(),
        "spec": {},
        "idempotency_key": "key-1",
        "request_sha256": "a" * 64,
    }
    first, created = queue.enqueue(db, **fields)
    again, created_again = queue.enqueue(db, **fields)
    assert created and not created_again and again.id == first.id
    with pytest.raises(queue.IdempotencyConflict, match="key-1"):
        queue.enqueue(db, **{**fields, "request_sha256": "b" * 64})
    # Another tenant's key space is its own; no key means a new job every time.
    other = "ten_other"
    with db.write() as session:
        session.add(tables.Tenant(id=other, name="other"))
    assert queue.enqueue(db, **{**fields, "tenant_id": other, "dataset_id": dataset_row(other)})[1]
    no_key = {**fields, "idempotency_key": None}
    assert queue.enqueue(db, **no_key)[0].id != queue.enqueue(db, **no_key)[0].id
    assert count(db, tables.Job) == 4


# --- the lease guard ---------------------------------------------------------------------------


def test_a_zombie_worker_writes_nothing(db: Database, make_job: MakeJob) -> None:
    """Worker A's lease expires, the reaper requeues, worker B claims: A's writes all miss."""
    job_id = make_job(max_attempts=5)
    zombie = claim(db, worker="a")
    expire(db, job_id)
    assert queue.reap_expired(db) == 1
    with db.write() as session:  # skip the backoff
        job = session.get(tables.Job, job_id)
        assert job is not None
        job.run_after = tables.utcnow() - dt.timedelta(seconds=1)
    live = claim(db, worker="b")
    assert live.id == job_id and live.lease_token != zombie.lease_token and live.attempts == 2

    stale = {"job_id": job_id, "lease_token": zombie.lease_token}
    assert queue.heartbeat(db, **stale, lease_seconds=LEASE) is None
    assert not queue.record_epoch(db, **stale, epoch=1, metrics={"loss": 9.0}, seconds=1.0)
    assert not queue.save_checkpoint(db, **stale, epoch=1, state=b"zombie")
    assert not queue.finish(db, **stale, model=model_for(zombie))
    assert queue.fail(db, **stale, code="INTERNAL", message="boom", retry=True) is None
    assert not queue.cancelled(db, **stale)
    assert not queue.release(db, **stale)

    job = get_job(db, job_id)
    assert (job.status, job.lease_token, job.lease_owner) == ("running", live.lease_token, "b")
    assert job.metrics is None and job.progress_epoch == 0 and job.model_id is None
    assert job.attempts == 2
    assert count(db, tables.JobEpoch) == count(db, tables.Checkpoint) == 0
    assert count(db, tables.Model) == 0
    assert queue.load_checkpoint(db, job_id=job_id) is None

    fresh = {"job_id": job_id, "lease_token": live.lease_token}
    assert queue.heartbeat(db, **fresh, lease_seconds=LEASE) == queue.Heartbeat(False)
    assert queue.record_epoch(db, **fresh, epoch=1, metrics={"loss": 1.0}, seconds=1.0)
    assert queue.save_checkpoint(db, **fresh, epoch=1, state=b"live")
    assert queue.load_checkpoint(db, job_id=job_id) == (1, b"live")


def test_guard_needs_status_running(db: Database, make_job: MakeJob) -> None:
    job_id = make_job()
    claimed = claim(db)
    lease = {"job_id": job_id, "lease_token": claimed.lease_token}
    assert queue.finish(db, **lease, model=model_for(claimed))
    assert not queue.finish(db, **lease)  # finishing twice changes nothing
    assert queue.heartbeat(db, **lease, lease_seconds=LEASE) is None
    assert queue.fail(db, **lease, code="INTERNAL", message="late", retry=False) is None
    assert get_job(db, job_id).status == "succeeded"


# --- outcomes ---------------------------------------------------------------------------------


def test_finish_stores_the_model_and_drops_the_checkpoint(db: Database, make_job: MakeJob) -> None:
    job_id = make_job()
    claimed = claim(db)
    lease = {"job_id": job_id, "lease_token": claimed.lease_token}
    assert queue.save_checkpoint(db, **lease, epoch=3, state=b"state")
    model = model_for(claimed)
    assert queue.finish(db, **lease, model=model)
    job = get_job(db, job_id)
    assert (job.status, job.model_id, job.lease_token, job.lease_expires_at) == (
        "succeeded",
        model.id,
        None,
        None,
    )
    assert job.finished_at is not None and job.error_code is None
    assert count(db, tables.Model, job_id=job_id) == 1
    assert queue.load_checkpoint(db, job_id=job_id) is None


def test_finish_a_predict_job_stores_the_prediction_rows(
    db: Database, make_job: MakeJob, tenant: str, dataset_row: Callable[..., str]
) -> None:
    make_job()
    train = claim(db)
    model = model_for(train)
    assert queue.finish(db, job_id=train.id, lease_token=train.lease_token, model=model)

    predict_id = make_job(kind="predict", model_id=model.id)
    claimed = claim(db)
    assert (claimed.id, claimed.kind, claimed.model_id) == (predict_id, "predict", model.id)
    prediction = tables.Prediction(
        id=new_id("pred"), tenant_id=tenant, model_id=model.id, job_id=predict_id, n_rows=3
    )
    rows = [
        tables.PredictionRow(prediction_id=prediction.id, row=i, prediction=i % 2) for i in range(3)
    ]
    assert queue.finish(
        db,
        job_id=predict_id,
        lease_token=claimed.lease_token,
        prediction=prediction,
        prediction_rows=rows,
    )
    job = get_job(db, predict_id)
    assert (job.status, job.model_id, job.prediction_id) == ("succeeded", model.id, prediction.id)
    assert count(db, tables.PredictionRow, prediction_id=prediction.id) == 3


def test_fail_without_retry_fails_at_once(db: Database, make_job: MakeJob) -> None:
    job_id = make_job()
    claimed = claim(db)
    status = queue.fail(
        db,
        job_id=job_id,
        lease_token=claimed.lease_token,
        code="DIVERGED",
        message="loss became NaN at epoch 3",
        retry=False,
    )
    assert status == "failed"
    job = get_job(db, job_id)
    assert (job.error_code, job.error_message) == ("DIVERGED", "loss became NaN at epoch 3")
    assert job.finished_at is not None and job.lease_token is None and job.attempts == 1


def test_a_failure_after_a_cancel_request_cancels_instead_of_retrying(
    db: Database, make_job: MakeJob, tenant: str
) -> None:
    job_id = make_job(max_attempts=3)
    claimed = claim(db)
    assert queue.request_cancel(db, tenant_id=tenant, job_id=job_id) == "running"
    status = queue.fail(
        db, job_id=job_id, lease_token=claimed.lease_token, code="INTERNAL",
        message="the training process died", retry=True,
    )
    assert status == "cancelled"
    job = get_job(db, job_id)
    assert (job.status, job.error_code, job.lease_token) == ("cancelled", None, None)
    assert job.finished_at is not None
    assert queue.claim_next_job(db, worker_id="other", lease_seconds=LEASE) is None


def test_retries_follow_the_backoff_then_fail(
    db: Database, make_job: MakeJob, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = 0.2
    monkeypatch.setattr(backoff, "BACKOFF_BASE_SECONDS", base)
    job_id = make_job(max_attempts=3)
    for attempt in (1, 2):
        claimed = claim(db)
        assert claimed.attempts == attempt
        before = tables.utcnow()
        status = queue.fail(
            db,
            job_id=job_id,
            lease_token=claimed.lease_token,
            code="INTERNAL",
            message="database went away",
            retry=True,
        )
        after = tables.utcnow()
        assert status == "queued"
        job = get_job(db, job_id)
        delay = base * 2 ** (attempt - 1)
        slack = dt.timedelta(milliseconds=20)
        assert before + dt.timedelta(seconds=0.75 * delay) - slack <= job.run_after
        assert job.run_after <= after + dt.timedelta(seconds=1.25 * delay) + slack
        assert job.error_code is None and job.finished_at is None and job.lease_token is None
        assert queue.claim_next_job(db, worker_id="w", lease_seconds=LEASE) is None  # backing off
        time.sleep((job.run_after - tables.utcnow()).total_seconds() + 0.02)
    claimed = claim(db)
    assert claimed.attempts == 3
    lease = {"job_id": job_id, "lease_token": claimed.lease_token}
    assert queue.fail(db, **lease, code="INTERNAL", message="again", retry=True) == "failed"
    job = get_job(db, job_id)
    assert (job.status, job.error_code, job.attempts) == ("failed", "INTERNAL", 3)


class _Edge:
    def __init__(self, factor: float) -> None:
        self.factor = factor

    def uniform(self, a: float, b: float) -> float:
        return a if self.factor < 1 else b


@pytest.mark.parametrize(
    ("attempts", "low", "high"),
    [(1, 1.5, 2.5), (2, 3.0, 5.0), (3, 6.0, 10.0), (9, 225.0, 375.0), (50, 225.0, 375.0)],
)
def test_backoff_seconds(attempts: int, low: float, high: float) -> None:
    assert queue.backoff_seconds(attempts, rng=_Edge(0)) == pytest.approx(low)
    assert queue.backoff_seconds(attempts, rng=_Edge(2)) == pytest.approx(high)
    assert low <= queue.backoff_seconds(attempts) <= high
    assert queue.backoff_seconds(attempts, rng=_Edge(2), base=1.0, cap=1.0) == 1.25


def test_backoff_steps_match_backoff_seconds() -> None:
    steps = backoff.steps(rng=_Edge(0))
    assert steps[1:4] == [queue.backoff_seconds(n, rng=_Edge(0)) for n in (1, 2, 3)]
    assert steps[-1] == pytest.approx(300 * 0.75)


def test_release_does_not_spend_an_attempt(db: Database, make_job: MakeJob) -> None:
    job_id = make_job(max_attempts=1)
    claimed = claim(db)
    assert queue.release(db, job_id=job_id, lease_token=claimed.lease_token)
    job = get_job(db, job_id)
    assert (job.status, job.attempts, job.lease_token, job.lease_owner) == ("queued", 0, None, None)
    again = claim(db)  # ready at once
    assert again.attempts == 1 and again.lease_token != claimed.lease_token


# --- history and checkpoints -------------------------------------------------------------------


def test_record_epoch_overwrites_on_resume_and_never_duplicates(
    db: Database, make_job: MakeJob
) -> None:
    job_id = make_job(progress_epochs=3)
    first = claim(db)
    for epoch in (1, 2, 3):
        assert queue.record_epoch(
            db,
            job_id=job_id,
            lease_token=first.lease_token,
            epoch=epoch,
            metrics={"loss": 1.0 / epoch},
            seconds=0.5,
        )
    assert queue.save_checkpoint(
        db, job_id=job_id, lease_token=first.lease_token, epoch=1, state=b"1"
    )
    assert queue.release(db, job_id=job_id, lease_token=first.lease_token)
    resumed = claim(db)
    assert queue.load_checkpoint(db, job_id=job_id) == (1, b"1")
    for epoch in (2, 3):
        assert queue.record_epoch(
            db,
            job_id=job_id,
            lease_token=resumed.lease_token,
            epoch=epoch,
            metrics={"loss": 2.0 / epoch},
            seconds=0.25,
        )
    with db.read() as session:
        rows = session.execute(
            select(tables.JobEpoch.epoch, tables.JobEpoch.metrics, tables.JobEpoch.seconds)
            .where(tables.JobEpoch.job_id == job_id)
            .order_by(tables.JobEpoch.epoch)
        ).all()
    assert [tuple(r) for r in rows] == [
        (1, {"loss": 1.0}, 0.5),
        (2, {"loss": 1.0}, 0.25),
        (3, {"loss": 2.0 / 3}, 0.25),
    ]
    job = get_job(db, job_id)
    assert (job.progress_epoch, job.metrics) == (3, {"loss": 2.0 / 3})


# --- cancel ------------------------------------------------------------------------------------


def test_cancel_a_queued_job_cancels_it_at_once(
    db: Database, make_job: MakeJob, tenant: str
) -> None:
    job_id = make_job()
    assert queue.request_cancel(db, tenant_id="ten_someone_else", job_id=job_id) is None
    assert queue.request_cancel(db, tenant_id=tenant, job_id="job_missing") is None
    assert queue.request_cancel(db, tenant_id=tenant, job_id=job_id) == "cancelled"
    job = get_job(db, job_id)
    assert job.status == "cancelled" and job.finished_at is not None and job.cancel_requested
    assert queue.claim_next_job(db, worker_id="w", lease_seconds=LEASE) is None
    assert queue.request_cancel(db, tenant_id=tenant, job_id=job_id) == "cancelled"


def test_cancel_a_running_job_flags_it(db: Database, make_job: MakeJob, tenant: str) -> None:
    job_id = make_job()
    claimed = claim(db)
    lease = {"job_id": job_id, "lease_token": claimed.lease_token}
    assert queue.request_cancel(db, tenant_id=tenant, job_id=job_id) == "running"
    assert get_job(db, job_id).finished_at is None
    beat = queue.heartbeat(db, **lease, lease_seconds=LEASE)
    assert beat is not None and beat.cancel_requested
    assert queue.cancelled(db, **lease)
    job = get_job(db, job_id)
    assert (job.status, job.lease_token) == ("cancelled", None) and job.finished_at is not None
    assert queue.request_cancel(db, tenant_id=tenant, job_id=job_id) == "cancelled"


def test_cancel_a_finished_job_changes_nothing(
    db: Database, make_job: MakeJob, tenant: str
) -> None:
    job_id = make_job()
    claimed = claim(db)
    assert queue.finish(db, job_id=job_id, lease_token=claimed.lease_token)
    finished_at = get_job(db, job_id).finished_at
    assert queue.request_cancel(db, tenant_id=tenant, job_id=job_id) == "succeeded"
    job = get_job(db, job_id)
    assert (job.status, job.cancel_requested, job.finished_at) == ("succeeded", False, finished_at)


def test_release_of_a_job_whose_cancel_was_requested_cancels_it(
    db: Database, make_job: MakeJob, tenant: str
) -> None:
    job_id = make_job()
    claimed = claim(db)
    queue.request_cancel(db, tenant_id=tenant, job_id=job_id)
    assert queue.release(db, job_id=job_id, lease_token=claimed.lease_token)
    assert get_job(db, job_id).status == "cancelled"


# --- the reaper --------------------------------------------------------------------------------


def test_reaper_requeues_fails_or_cancels_expired_jobs(
    db: Database, make_job: MakeJob, tenant: str
) -> None:
    retry = make_job(max_attempts=3)
    lost = make_job(max_attempts=1)
    cancel = make_job(max_attempts=3)
    alive = make_job()
    for _ in range(4):
        claim(db)
    queue.request_cancel(db, tenant_id=tenant, job_id=cancel)
    for job_id in (retry, lost, cancel):
        expire(db, job_id)
    now = tables.utcnow()
    assert queue.reap_expired(db) == 3
    assert queue.reap_expired(db) == 0

    job = get_job(db, retry)
    assert (job.status, job.attempts, job.lease_token, job.error_code) == ("queued", 1, None, None)
    slack = dt.timedelta(seconds=0.5)  # the database's clock vs ours
    assert now + dt.timedelta(seconds=1.5) - slack <= job.run_after
    assert job.run_after <= now + dt.timedelta(seconds=2.5) + slack
    job = get_job(db, lost)
    assert (job.status, job.error_code, job.lease_token) == ("failed", "WORKER_LOST", None)
    assert job.error_message and "lease" in job.error_message and job.finished_at is not None
    job = get_job(db, cancel)
    assert (job.status, job.lease_token) == ("cancelled", None) and job.finished_at is not None
    assert get_job(db, alive).status == "running"


def test_reaper_with_an_explicit_now(db: Database, make_job: MakeJob) -> None:
    job_id = make_job()
    claim(db, lease_seconds=60)
    assert queue.reap_expired(db, now=tables.utcnow() + dt.timedelta(seconds=30)) == 0
    later = tables.utcnow() + HOUR
    assert queue.reap_expired(db, now=later) == 1
    run_after = get_job(db, job_id).run_after
    assert later + dt.timedelta(seconds=1.4) <= run_after <= later + dt.timedelta(seconds=2.6)


def test_reaper_skips_a_row_locked_by_a_stalled_transaction(
    db: Database, make_job: MakeJob
) -> None:
    """A worker paused mid-transaction holds its job's row lock; the reaper must not wait on it."""
    if not db.is_postgres:
        pytest.skip("SQLite has one write lock for the whole file: nothing to skip past")
    job_id = make_job()
    claim(db, lease_seconds=0.05)
    time.sleep(0.1)
    with db.engine.connect() as stalled:
        stalled.execute(select(tables.Job.id).where(tables.Job.id == job_id).with_for_update())
        started = time.monotonic()
        assert queue.reap_expired(db) == 0
        assert time.monotonic() - started < 5
        stalled.rollback()
    assert queue.reap_expired(db) == 1


def test_a_finish_after_expiry_but_before_the_reaper_stands(
    db: Database, make_job: MakeJob
) -> None:
    job_id = make_job()
    claimed = claim(db, lease_seconds=0.05)
    time.sleep(0.1)  # the lease has expired; no reaper has run yet
    assert queue.finish(db, job_id=job_id, lease_token=claimed.lease_token)
    assert queue.reap_expired(db) == 0
    assert get_job(db, job_id).status == "succeeded"


def test_a_finish_after_the_reaper_is_refused(db: Database, make_job: MakeJob) -> None:
    job_id = make_job()
    claimed = claim(db, lease_seconds=0.05)
    time.sleep(0.1)
    assert queue.reap_expired(db) == 1
    assert not queue.finish(db, job_id=job_id, lease_token=claimed.lease_token)
    job = get_job(db, job_id)
    assert (job.status, job.finished_at) == ("queued", None)
