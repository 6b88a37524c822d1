"""A train job: the dataset's columns, the split, the pipeline fitted on the training rows, the
engine's run, and the model at the end. A resumed job continues from its checkpoint bit for bit.

The steps, in order (``run_train``):

1. ``training_arrays``: the dataset's raw feature matrix and its targets (one-hot for classes);
2. ``prepare``: the train/validation split (the run's ``split`` random stream), the pipeline
   fitted on the training rows only, both parts transformed by it;
3. the engine's loop (``worker.nn.fit``), recording each epoch and checkpointing
   (``EpochRecorder``);
4. the model: the weights with the pipeline's state, the last epoch's metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from service import queue, tables
from service.artifacts import decode_dataset, encode_weights
from service.ids import new_id
from worker.jobs.base import InvalidJob, JobContext, LeaseLost, Stopped, last_epoch, load_dataset
from worker.jobs.recorder import EpochRecorder, history_row
from worker.pipeline import Pipeline, one_hot, split_rows


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
            raise InvalidJob(f"classification needs a dataset of labels; dataset {dataset.id} "
                             "has numeric target values (use task 'regression')")
        if len(dataset.classes) < 2:
            raise InvalidJob(f"classification needs at least 2 classes; dataset {dataset.id} "
                             f"has only {dataset.classes[0]!r}")
        return X, one_hot(y, len(dataset.classes)), len(dataset.classes), list(dataset.classes)
    if task == "regression":
        if dataset.target_kind != "values":
            raise InvalidJob(f"regression needs numeric target values; dataset {dataset.id} "
                             "has labels (use task 'classification')")
        Y = np.asarray(y, dtype=np.float64)
        Y = Y[:, None] if Y.ndim == 1 else Y
        return X, Y, int(Y.shape[1]), None
    raise InvalidJob(f"task: unknown task {task!r}; expected classification or regression")


@dataclass(frozen=True, eq=False)
class Prepared:
    """The pipeline fitted on the training rows and both parts as the network sees them."""

    pipeline: Pipeline
    X: np.ndarray
    Y: np.ndarray
    validation: tuple[np.ndarray, np.ndarray] | None


def prepare(
    X: np.ndarray, Y: np.ndarray, config: dict[str, Any], split: np.random.Generator,
    dtype: Any,
) -> Prepared:
    """Split with the run's ``split`` stream, fit the pipeline on the training rows only, and
    transform both parts."""
    train_rows, val_rows = split_rows(X.shape[0], config["validation_split"], split)
    X_train, Y_train = (X, Y) if train_rows is None else (X[train_rows], Y[train_rows])
    pipeline = Pipeline.fit(X_train, standardize=config["standardize"], dtype=dtype)
    validation = None
    if val_rows is not None:
        validation = (pipeline.transform(X[val_rows]), Y[val_rows])
    return Prepared(pipeline, pipeline.transform(X_train), np.ascontiguousarray(Y_train),
                    validation)


def run_train(ctx: JobContext) -> None:
    from worker.jobs.divergence import Diverged, explain, likely_causes
    from worker.nn import (
        DivergedError,
        Network,
        RandomStreams,
        TrainingState,
        fill_training_defaults,
        fit,
    )

    db, job, spec = ctx.db, ctx.job, ctx.job.spec
    dataset = load_dataset(db, tenant_id=job.tenant_id, dataset_id=job.dataset_id)
    task = spec.get("task") or (
        "classification" if dataset.target_kind == "labels" else "regression"
    )
    X, Y, n_outputs, classes = training_arrays(dataset, task)
    config = fill_training_defaults(spec.get("training"))
    net = Network.from_spec(spec.get("network") or {}, X.shape[1], n_outputs,
                            seed=config["seed"], dtype=config["dtype"], task=task)
    streams = RandomStreams(config["seed"])
    data = prepare(X, Y, config, streams.generator("split"), net.dtype)
    checkpoint = queue.load_checkpoint(db, job_id=job.id)
    recorder = EpochRecorder(ctx)
    if checkpoint is not None:
        recorder.checkpointed_epoch = checkpoint[0]
    stop_seen = False

    def should_stop() -> bool:
        nonlocal stop_seen
        stop_seen = stop_seen or ctx.should_stop()
        return stop_seen

    try:
        history = fit(
            net, data.X, data.Y, config, task=task, streams=streams,
            validation=data.validation, on_epoch=recorder.on_epoch, should_stop=should_stop,
            state=None if checkpoint is None else TrainingState.from_bytes(checkpoint[1]),
        )
        if stop_seen:
            # The engine stopped because we asked: keep the last finished epoch. (When that
            # was the run's last epoch, the next attempt resumes with nothing left but to
            # finish.)
            recorder.checkpoint()
            raise Stopped
        recorder.writer.flush()  # every epoch row is in before the job succeeds
    except DivergedError as exc:  # name the likely cause the job can see
        causes = likely_causes(task=task, X=data.X, Y=data.Y, optimizer=config["optimizer"],
                               standardized=bool(config["standardize"]))
        raise Diverged(exc.epoch, explain(str(exc), causes)) from exc
    finally:
        recorder.writer.close()
    _finish(ctx, dataset, task, net, data.pipeline, classes, n_outputs, history)


def _finish(ctx: JobContext, dataset: tables.Dataset, task: str, net: Any, pipeline: Pipeline,
            classes: list[Any] | None, n_outputs: int, history: list[dict[str, Any]]) -> None:
    """Store the model: the weights (with the pipeline's state) and the last epoch's metrics
    (from this attempt's history, or the epoch rows when the run resumed with nothing left)."""
    job = ctx.job
    last = (int(history[-1]["epoch"]), history_row(history[-1])[0]) if history else None
    last = last or last_epoch(ctx.db, job_id=job.id)
    standardization = pipeline.standardizer
    weights, sha256 = encode_weights(
        net.params, None if standardization is None
        else (standardization.mean, standardization.scale))
    model = tables.Model(
        id=new_id("mdl"), tenant_id=job.tenant_id, job_id=job.id, dataset_id=dataset.id,
        task=task, spec=job.spec, n_features=pipeline.n_features,
        n_targets=1 if task == "classification" else n_outputs, classes=classes,
        metrics=None if last is None else last[1], epochs_trained=0 if last is None else last[0],
        weights=weights, weights_sha256=sha256,
    )
    if not queue.finish(ctx.db, job_id=job.id, lease_token=job.lease_token, model=model):
        raise LeaseLost
