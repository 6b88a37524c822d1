"""The job runners in-process (no subprocesses): outcomes, resume, lost leases, user errors."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pytest
from worker_helpers import (
    TrainCase,
    checkpoint_epoch,
    epochs_of,
    insert_dataset,
    job_row,
    model_of,
)

from service import queue, tables
from service.db import Database
from service.queue import ClaimedJob
from worker.jobs import JobContext, history_row, training_arrays
from worker.runner import EXIT_LEASE_LOST, EXIT_STOPPED, run_and_report

EPOCHS = 6


def claim(db: Database) -> ClaimedJob:
    job = queue.claim_next_job(db, worker_id=str(uuid.uuid4()), lease_seconds=60)
    assert job is not None
    return job


def run(db: Database, job: ClaimedJob, **kwargs: Any) -> int:
    return run_and_report(JobContext(db=db, job=job, checkpoint_seconds=0.0, **kwargs))


def test_train_job_succeeds_with_the_engines_weights(db: Database, case: TrainCase) -> None:
    spec = case.spec(epochs=EPOCHS)
    job_id = case.enqueue(spec)
    assert run(db, claim(db)) == 0

    job = job_row(db, job_id)
    assert (job.status, job.attempts, job.error_code) == ("succeeded", 1, None)
    model = model_of(db, job)
    assert model.weights_sha256 == case.reference(spec)
    assert (model.task, model.n_features, model.n_targets) == ("classification", 10, 1)
    assert model.classes == ["a", "b", "c"]
    assert model.epochs_trained == EPOCHS
    history = epochs_of(db, job_id)
    assert [row.epoch for row in history] == list(range(1, EPOCHS + 1))
    assert {**model.metrics, "diagnostics": history[-1].metrics["diagnostics"]} \
        == history[-1].metrics
    assert set(model.metrics) == {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"}
    assert all(row.seconds > 0 for row in history)
    assert checkpoint_epoch(db, job_id) is None  # finish drops it


def test_stopped_job_resumes_bit_identical(db: Database, case: TrainCase) -> None:
    spec = case.spec(epochs=EPOCHS)
    job_id = case.enqueue(spec)
    first = claim(db)
    calls = 0

    def stop_mid_epoch_4() -> bool:  # 40 batches + 1 look an epoch: call 150 is in epoch 4
        nonlocal calls
        calls += 1
        return calls >= 150

    assert run(db, first, should_stop=stop_mid_epoch_4) == EXIT_STOPPED
    assert checkpoint_epoch(db, job_id) == 3
    assert [row.epoch for row in epochs_of(db, job_id)] == [1, 2, 3]
    assert queue.release(db, job_id=job_id, lease_token=first.lease_token)
    assert job_row(db, job_id).attempts == 0

    assert run(db, claim(db)) == 0
    job = job_row(db, job_id)
    assert (job.status, job.attempts) == ("succeeded", 1)
    assert model_of(db, job).weights_sha256 == case.reference(spec)
    assert [row.epoch for row in epochs_of(db, job_id)] == list(range(1, EPOCHS + 1))


def test_resume_from_an_older_checkpoint_overwrites_later_epochs(
    db: Database, case: TrainCase
) -> None:
    """Checkpoints are rarer than epochs: the epochs after the checkpoint run again and their
    rows are replaced, not duplicated."""
    spec = case.spec(epochs=EPOCHS)
    job_id = case.enqueue(spec)
    first = claim(db)
    ctx = JobContext(db=db, job=first, checkpoint_seconds=3600.0)  # never by time
    calls = 0

    def stop() -> bool:
        nonlocal calls
        calls += 1
        return calls >= 150

    ctx.should_stop = stop
    assert run_and_report(ctx) == EXIT_STOPPED
    # Checkpoint at epoch 3 (the graceful stop); pretend epochs 4-5 ran before a crash.
    for epoch in (4, 5):
        queue.record_epoch(
            db, job_id=job_id, lease_token=first.lease_token, epoch=epoch,
            metrics={"loss": -1.0}, seconds=0.0,
        )  # fmt: skip
    queue.release(db, job_id=job_id, lease_token=first.lease_token)
    assert run(db, claim(db)) == 0
    rows = epochs_of(db, job_id)
    assert [row.epoch for row in rows] == list(range(1, EPOCHS + 1))
    assert all(row.metrics["loss"] > 0 for row in rows)
    assert model_of(db, job_row(db, job_id)).weights_sha256 == case.reference(spec)


def test_lost_lease_stops_the_job_without_writes(db: Database, case: TrainCase) -> None:
    job_id = case.enqueue(case.spec(epochs=EPOCHS))
    stale = claim(db)
    # The lease expired and the reaper took the job back; another worker may claim it.
    assert queue.reap_expired(db, now=job_row(db, job_id).lease_expires_at + _seconds(1)) == 1
    assert run(db, stale) == EXIT_LEASE_LOST
    job = job_row(db, job_id)
    assert (job.status, job.progress_epoch, job.model_id) == ("queued", 0, None)
    assert epochs_of(db, job_id) == []
    assert checkpoint_epoch(db, job_id) is None


def test_divergence_fails_at_once_naming_the_epoch(db: Database, case: TrainCase) -> None:
    spec = case.spec(epochs=EPOCHS, optimizer={"name": "sgd", "learning_rate": 1e12})
    spec["network"]["hidden_layers"] = [{"units": 8, "activation": "identity"}]
    job_id = case.enqueue(spec)
    assert run(db, claim(db)) == 0
    job = job_row(db, job_id)
    assert (job.status, job.error_code) == ("failed", "DIVERGED")
    assert "epoch 1" in (job.error_message or "")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda s: s["network"]["hidden_layers"][0].update(activation="relux"),
            "relux",
        ),
        (lambda s: s["training"].update(batch_size=0), "batch_size"),
        (lambda s: s.update(task="regression"), "regression needs numeric target values"),
    ],
)
def test_bad_spec_fails_at_once(db: Database, case: TrainCase, change: Any, message: str) -> None:
    spec = case.spec(epochs=EPOCHS)
    change(spec)
    job_id = case.enqueue(spec)
    assert run(db, claim(db)) == 0
    job = job_row(db, job_id)
    assert (job.status, job.error_code, job.attempts) == ("failed", "INVALID_INPUT", 1)
    assert message in (job.error_message or "")


def test_dataset_without_targets_is_invalid_input(db: Database, case: TrainCase) -> None:
    dataset_id = insert_dataset(db, case.tenant_id, case.X, None)
    spec = case.spec(epochs=EPOCHS)
    spec["dataset_id"] = dataset_id
    job, _ = queue.enqueue(
        db, tenant_id=case.tenant_id, kind="train", dataset_id=dataset_id, spec=spec
    )
    assert run(db, claim(db)) == 0
    failed = job_row(db, job.id)
    assert (failed.status, failed.error_code) == ("failed", "INVALID_INPUT")
    assert "has no targets" in (failed.error_message or "")


def test_unexpected_error_is_retried(
    db: Database, case: TrainCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = case.enqueue(case.spec(epochs=EPOCHS))

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(queue, "load_checkpoint", broken)
    assert run(db, claim(db)) == 0
    job = job_row(db, job_id)
    assert (job.status, job.error_code, job.attempts) == ("queued", None, 1)
    assert job.run_after > job.started_at  # backing off


def test_predict_job_stores_every_row(db: Database, case: TrainCase) -> None:
    train_id = case.enqueue(case.spec(epochs=2))
    assert run(db, claim(db)) == 0
    model = model_of(db, job_row(db, train_id))
    unlabeled = insert_dataset(db, case.tenant_id, case.X[:25], None)
    job, _ = queue.enqueue(
        db,
        tenant_id=case.tenant_id,
        kind="predict",
        dataset_id=unlabeled,
        model_id=model.id,
        spec={"model_id": model.id, "dataset_id": unlabeled},
    )
    assert run(db, claim(db)) == 0
    done = job_row(db, job.id)
    assert done.status == "succeeded" and done.prediction_id
    with db.read() as session:
        prediction = session.get(tables.Prediction, done.prediction_id)
        rows = session.query(tables.PredictionRow).filter_by(prediction_id=done.prediction_id)
        rows = rows.order_by(tables.PredictionRow.row).all()
    assert prediction is not None and prediction.n_rows == 25
    assert [r.row for r in rows] == list(range(25))
    assert {r.prediction for r in rows} <= {"a", "b", "c"}
    assert all(len(r.probabilities or []) == 3 for r in rows)
    assert np.allclose([sum(r.probabilities or []) for r in rows], 1.0)


def test_training_arrays_one_hot(case: TrainCase, db: Database) -> None:
    with db.read() as session:
        dataset = session.get(tables.Dataset, case.dataset_id)
    assert dataset is not None
    X, Y, n_outputs, classes = training_arrays(dataset, "classification")
    assert (X.n_rows, len(X.columns)) == (800, 10)
    assert (Y.shape, n_outputs, classes) == ((800, 3), 3, ["a", "b", "c"])
    assert np.array_equal(Y.argmax(axis=1), case.y)


def test_history_row_splits_epoch_and_seconds() -> None:
    metrics, seconds = history_row(
        {"epoch": 3, "loss": np.float32(0.5), "val_loss": float("nan"), "seconds": 0.25}
    )
    assert metrics == {"loss": 0.5, "val_loss": None}
    assert seconds == 0.25


def _seconds(n: float) -> Any:
    import datetime as dt

    return dt.timedelta(seconds=n)


def test_a_stalled_transaction_cannot_hold_a_job_past_its_lease(
    db: Database, case: TrainCase
) -> None:
    """PostgreSQL ends a worker session idle in a transaction for a lease, releasing its locks."""
    if not db.is_postgres:
        pytest.skip("PostgreSQL only (SQLite has one write lock and no session timeouts)")
    from sqlalchemy import text, update
    from sqlalchemy.exc import DBAPIError

    from service.db import connect
    from worker.runner import bound_stalled_transactions

    job_id = case.enqueue(case.spec(epochs=1))
    stalled = connect(db.url, pool_size=1)
    bound_stalled_transactions(stalled, 1.0)
    conn = stalled.engine.connect()
    try:
        conn.execute(update(tables.Job).where(tables.Job.id == job_id).values(priority=1))
        # ...and the process stalls here, its row lock held.
        with db.write() as session:
            session.execute(text("SET LOCAL lock_timeout = '10s'"))
            session.execute(update(tables.Job).where(tables.Job.id == job_id).values(priority=2))
        # Waited ~1 s, not 10: the server ended the stalled session.
        with pytest.raises(DBAPIError, match="idle-in-transaction timeout"):
            conn.execute(text("SELECT 1"))
    finally:
        conn.invalidate()
        stalled.dispose()
    assert job_row(db, job_id).priority == 2
