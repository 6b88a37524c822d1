"""A train job: the dataset's arrays, the engine's run, one history row per epoch, checkpoints
(every epoch or every ``checkpoint_seconds``, whichever is rarer, and at a graceful stop), and
the model at the end. A resumed job continues from its checkpoint bit for bit."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from service import queue, tables
from service.artifacts import decode_dataset, encode_weights
from service.ids import new_id
from worker.jobs.base import InvalidJob, JobContext, LeaseLost, Stopped, load_dataset
from worker.jobs.writer import ProgressWriter


def training_arrays(
    dataset: tables.Dataset, task: str
) -> tuple[np.ndarray, np.ndarray, int, list[Any] | None]:
    """``(X, Y, n_outputs, classes)`` for training: ``Y`` is one-hot ``(n, n_classes)`` for
    classification and the target values ``(n, k)`` for regression."""
    X, y = decode_dataset(dataset.content)
    if y is None or dataset.n_targets == 0:
        raise InvalidJob(
            f"dataset {dataset.id} has no targets, so it can only be used for predictions"
        )
    if task == "classification":
        if dataset.target_kind != "labels" or not dataset.classes:
            raise InvalidJob(
                f"classification needs a dataset of labels; dataset {dataset.id} has "
                f"numeric target values (use task 'regression')"
            )
        n_classes = len(dataset.classes)
        if n_classes < 2:
            raise InvalidJob(
                f"classification needs at least 2 classes; dataset {dataset.id} has only "
                f"{dataset.classes[0]!r}"
            )
        labels = np.asarray(y, dtype=np.int64).reshape(-1)
        Y = np.zeros((labels.shape[0], n_classes), dtype=np.float64)
        Y[np.arange(labels.shape[0]), labels] = 1.0
        return X, Y, n_classes, list(dataset.classes)
    if task == "regression":
        if dataset.target_kind != "values":
            raise InvalidJob(
                f"regression needs numeric target values; dataset {dataset.id} has labels "
                f"(use task 'classification')"
            )
        Y = np.asarray(y, dtype=np.float64)
        if Y.ndim == 1:
            Y = Y[:, None]
        return X, Y, int(Y.shape[1]), None
    raise InvalidJob(f"task: unknown task {task!r}; expected classification or regression")


def _plain(metrics: dict[str, Any]) -> dict[str, Any]:
    """JSON-safe metrics: Python floats, and None for non-finite values (JSON has no NaN)."""
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        if isinstance(value, int | float | np.number) and not isinstance(value, bool):
            number = float(value)
            out[key] = number if math.isfinite(number) else None
        else:
            out[key] = value
    return out


def history_row(row: dict[str, Any]) -> tuple[dict[str, Any], float]:
    """The engine's epoch row as ``(metrics, seconds)``: the epoch and its duration are columns
    of their own in ``job_epochs``, so the metrics are just the measures."""
    metrics = _plain({k: v for k, v in row.items() if k not in ("epoch", "seconds")})
    return metrics, float(row.get("seconds") or 0.0)


@dataclass
class EpochRecorder:
    """The engine's ``on_epoch``: one history row per epoch and checkpoints, on this lease,
    written by a `ProgressWriter` thread so that training never waits for the database."""

    ctx: JobContext
    writer: ProgressWriter = field(default_factory=ProgressWriter)
    last_checkpoint_at: float = field(default_factory=time.monotonic)
    last_epoch: int | None = None
    # The engine's snapshot of the last finished epoch (what a graceful stop checkpoints).
    last_state: Any = None
    checkpointed_epoch: int | None = None

    def on_epoch(self, epoch: int, row: dict[str, Any], state: Any) -> None:
        job = self.ctx.job
        metrics, seconds = history_row(row)
        self.writer.submit(
            partial(
                queue.record_epoch,
                self.ctx.db,
                job_id=job.id,
                lease_token=job.lease_token,
                epoch=epoch,
                metrics=metrics,
                seconds=seconds,
            )
        )
        self.last_epoch, self.last_state = epoch, state
        if time.monotonic() - self.last_checkpoint_at >= self.ctx.checkpoint_seconds:
            self.checkpoint(wait=False)

    def checkpoint(self, *, wait: bool = True) -> None:
        """Save the last finished epoch's state (no-op when it is saved already); ``wait``
        until it and every epoch row before it are written."""
        if self.last_state is not None and self.last_epoch != self.checkpointed_epoch:
            job, epoch, state = self.ctx.job, self.last_epoch, self.last_state
            assert epoch is not None

            def save() -> bool:
                return queue.save_checkpoint(
                    self.ctx.db, job_id=job.id, lease_token=job.lease_token, epoch=epoch,
                    state=state.to_bytes(),
                )

            self.writer.submit(save)
            self.checkpointed_epoch = epoch
            self.last_checkpoint_at = time.monotonic()
        if wait:
            self.writer.flush()


def run_train(ctx: JobContext) -> None:
    from worker.nn import Network, TrainingState, train

    db, job = ctx.db, ctx.job
    spec = job.spec
    dataset = load_dataset(db, tenant_id=job.tenant_id, dataset_id=job.dataset_id)
    task = spec.get("task") or (
        "classification" if dataset.target_kind == "labels" else "regression"
    )
    X, Y, n_outputs, classes = training_arrays(dataset, task)
    training: dict[str, Any] = spec.get("training") or {}
    net = Network.from_spec(
        spec.get("network") or {},
        X.shape[1],
        n_outputs,
        seed=int(training.get("seed", 0)),
        dtype=training.get("dtype", "float32"),
        task=task,
    )
    state = None
    checkpoint = queue.load_checkpoint(db, job_id=job.id)
    if checkpoint is not None:
        state = TrainingState.from_bytes(checkpoint[1])
    recorder = EpochRecorder(ctx)
    if checkpoint is not None:
        recorder.checkpointed_epoch = checkpoint[0]

    stop_seen = False

    def should_stop() -> bool:
        nonlocal stop_seen
        stop_seen = stop_seen or ctx.should_stop()
        return stop_seen

    try:
        history = train(
            net,
            X,
            Y,
            training,
            on_epoch=recorder.on_epoch,
            should_stop=should_stop,
            state=state,
            task=task,
        )
        if stop_seen:
            # The engine stopped because we asked: keep the last finished epoch. (When that
            # was the run's last epoch, the next attempt resumes with nothing left but to
            # finish.)
            recorder.checkpoint()
            raise Stopped
        recorder.writer.flush()  # every epoch row is in before the job succeeds
    finally:
        recorder.writer.close()

    # The history includes the epochs of earlier attempts (they are in the checkpoint).
    metrics = history_row(history[-1])[0] if history else None
    epochs_trained = int(history[-1]["epoch"]) if history else 0
    weights, sha256 = encode_weights(net.params, net.standardization)
    model = tables.Model(
        id=new_id("mdl"),
        tenant_id=job.tenant_id,
        job_id=job.id,
        dataset_id=dataset.id,
        task=task,
        spec=spec,
        n_features=int(X.shape[1]),
        n_targets=1 if task == "classification" else n_outputs,
        classes=classes,
        metrics=metrics,
        epochs_trained=epochs_trained,
        weights=weights,
        weights_sha256=sha256,
    )
    if not queue.finish(db, job_id=job.id, lease_token=job.lease_token, model=model):
        raise LeaseLost
