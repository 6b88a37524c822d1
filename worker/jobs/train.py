"""A train job: the dataset's columns, the split, the pipeline fitted on the training rows, the
engine's run, and the model at the end. A resumed job continues from its checkpoint bit for bit.

The steps, in order (``run_train``):

1. ``training_arrays``: the dataset's raw columns (a ``Table``) and its targets (one-hot for
   classes);
2. ``prepare``: the train/validation split (the run's ``split`` random stream), the pipeline
   (the spec's ``preprocessing``, then standardization) fitted on the training rows only, both
   parts transformed by it; the network's input width is the pipeline's;
3. the engine's loop (``worker.nn.fit``), recording each epoch and checkpointing
   (``EpochRecorder``);
4. the model: the weights with the pipeline's state, the last epoch's metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from service import queue, tables
from service.artifacts import decode_table, encode_weights
from service.ids import new_id
from worker.jobs.base import InvalidJob, JobContext, LeaseLost, Stopped, last_epoch, load_dataset
from worker.jobs.recorder import EpochRecorder, history_row
from worker.pipeline import Pipeline, Table, one_hot, split_rows


def training_arrays(
    dataset: tables.Dataset, task: str
) -> tuple[Table, np.ndarray, int, list[Any] | None]:
    """``(X, Y, n_outputs, classes)`` for training: ``X`` the raw columns, ``Y`` one-hot
    ``(n, n_classes)`` for classification and the target values ``(n, k)`` for regression."""
    X, y = decode_table(dataset.content)
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


def fill_preprocessing(preprocessing: dict[str, Any] | None) -> dict[str, Any]:
    """The spec's ``preprocessing`` with its defaults (a job submitted before it existed has
    none)."""
    from worker.spec import PREPROCESSING

    try:
        filled: dict[str, Any] = PREPROCESSING.fill(preprocessing or {}, ("preprocessing",))
    except ValueError as exc:
        raise InvalidJob(str(exc)) from None
    return filled


def model_columns(pipeline: Pipeline) -> list[dict[str, Any]] | None:
    """The model's column schema: each raw column's name, kind and known categories."""
    pre = pipeline.preprocessor
    if pre is None:
        return None
    encoders = iter(pre.encoders)
    columns: list[dict[str, Any]] = []
    for name, kind in pre.columns:
        categories = None
        if kind == "categorical":
            encoder = next(encoders)
            categories = sorted({*encoder.kept, *encoder.grouped})
        columns.append({"name": name, "kind": kind, "categories": categories})
    return columns


@dataclass(frozen=True, eq=False)
class Prepared:
    """The pipeline fitted on the training rows and both parts as the network sees them."""

    pipeline: Pipeline
    X: np.ndarray
    Y: np.ndarray
    validation: tuple[np.ndarray, np.ndarray] | None


def prepare(
    X: Table, Y: np.ndarray, config: dict[str, Any], split: np.random.Generator,
    dtype: Any, preprocessing: dict[str, Any] | None = None,
) -> Prepared:
    """Split with the run's ``split`` stream, fit the pipeline on the training rows only, and
    transform both parts."""
    train_rows, val_rows = split_rows(X.n_rows, config["validation_split"], split)
    X_train, Y_train = (X, Y) if train_rows is None else (X.take(train_rows), Y[train_rows])
    pipeline = Pipeline.fit(X_train, standardize=config["standardize"], dtype=dtype,
                            preprocessing=preprocessing)
    validation = None
    if val_rows is not None:
        validation = (pipeline.transform(X.take(val_rows)), Y[val_rows])
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
    streams = RandomStreams(config["seed"])
    data = prepare(X, Y, config, streams.generator("split"), np.dtype(config["dtype"]),
                   fill_preprocessing(spec.get("preprocessing")))
    net = Network.from_spec(spec.get("network") or {}, data.pipeline.width, n_outputs,
                            seed=config["seed"], dtype=config["dtype"], task=task)
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
        else (standardization.mean, standardization.scale), pipeline.to_arrays())
    model = tables.Model(
        id=new_id("mdl"), tenant_id=job.tenant_id, job_id=job.id, dataset_id=dataset.id,
        task=task, spec=job.spec, n_features=pipeline.n_features,
        columns=model_columns(pipeline),
        n_targets=1 if task == "classification" else n_outputs, classes=classes,
        metrics=None if last is None else last[1], epochs_trained=0 if last is None else last[0],
        weights=weights, weights_sha256=sha256,
    )
    if not queue.finish(ctx.db, job_id=job.id, lease_token=job.lease_token, model=model):
        raise LeaseLost
