"""A train job: the dataset's columns, the split, the pipeline fitted on the training rows, the
engine's run, and the model at the end. A resumed job continues from its checkpoint bit for bit.

The steps, in order (``run_train``):

1. ``training_arrays``: the dataset's raw columns (a ``Table``) and its targets (one-hot for
   classes), read as the task's kind (``worker.pipeline.targets``: numeric labels as values,
   whole-number values as labels);
2. ``prepare``: the train/validation split (the run's ``split`` random stream), the pipeline
   (the spec's ``preprocessing``, then standardization) and, for regression with
   ``standardize_targets``, the target scaling, both fitted on the training rows only, both
   parts transformed by them; the network's input width is the pipeline's. A fine-tuning job
   (``training.init_from_model``, ``finetune``) keeps its parent's pipeline and target scaling
   instead, reads the data in the parent's terms and starts from the parent's weights;
3. the engine's loop (``worker.nn.run_fit``), recording each epoch and checkpointing
   (``EpochRecorder``);
4. the model: the weights with the pipeline's state and target scaling, and the metrics of the
   epoch whose weights it holds (``best_epoch``: the best one under ``restore_best``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from service import queue, tables
from service.artifacts import encode_weights
from service.db import Database
from service.ids import new_id
from service.repository.datasets import read_columns
from worker.jobs.base import InvalidJob, JobContext, LeaseLost, Stopped, epoch_metrics, load_dataset
from worker.jobs.finetune import Parent, in_terms_of, load_parent
from worker.jobs.pruning import TrialPruner
from worker.jobs.recorder import EpochRecorder, history_row
from worker.pipeline import (
    Pipeline,
    Table,
    TargetScaler,
    as_labels,
    as_multilabel,
    as_values,
    one_hot,
    split_rows,
)
from worker.pipeline.targets import TASK_NEEDS


def training_arrays(
    dataset: tables.Dataset, task: str, db: Database | None = None
) -> tuple[Table, np.ndarray, int, list[Any] | None]:
    """``(X, Y, n_outputs, classes)`` for training: ``X`` the raw columns, ``Y`` one-hot
    ``(n, n_classes)`` for classification, the target values ``(n, k)`` for regression and
    the 0/1 columns ``(n, k)`` for multilabel (classes: the target columns' names)."""
    X, y = read_columns(db, dataset)  # as stored (uint8, float32, …), numbers as float64
    if y is None or dataset.n_targets == 0:
        raise InvalidJob(
            f"dataset {dataset.id} has no targets, so it can only be used for predictions"
        )
    try:
        if task == "classification":
            classes = list(dataset.classes or [])
            if dataset.target_kind != "labels":
                y, classes = as_labels(y)
            if len(classes) < 2:
                raise ValueError(f"it has only {classes[0] if classes else 'no'!r} class")
            return X, one_hot(y, len(classes)), len(classes), classes
        if task == "multilabel":
            if dataset.target_kind != "values":
                raise ValueError("its targets are one label per row")
            Y, labels = as_multilabel(y, dataset.target_names)
            return X, Y, int(Y.shape[1]), labels
        if task == "regression":
            Y = (as_values(y, dataset.classes or []) if dataset.target_kind == "labels"
                 else np.asarray(y, dtype=np.float64))
            Y = Y[:, None] if Y.ndim == 1 else Y
            return X, Y, int(Y.shape[1]), None
    except ValueError as exc:
        raise InvalidJob(f"{TASK_NEEDS.get(task, task)}; dataset {dataset.id}: {exc}") from None
    raise InvalidJob(f"task: unknown task {task!r}; expected classification, regression "
                     "or multilabel")


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
    targets: TargetScaler | None = None
    parent_model_id: str | None = None  # fine-tuning: the model whose pipeline this is


def prepare(
    X: Table, Y: np.ndarray, config: dict[str, Any], split: np.random.Generator,
    dtype: Any, preprocessing: dict[str, Any] | None = None, *, task: str = "classification",
    parent: Parent | None = None,
) -> Prepared:
    """Split with the run's ``split`` stream, fit the pipeline (and, for regression with
    ``standardize_targets``, the target scaling) on the training rows only, and transform both
    parts. A fine-tuning job's ``parent`` brings its fitted pipeline and target scaling, which
    are kept as they are."""
    train_rows, val_rows = split_rows(X.n_rows, config["validation_split"], split)
    X_train, Y_train = (X, Y) if train_rows is None else (X.take(train_rows), Y[train_rows])
    if parent is not None:
        pipeline, targets = parent.pipeline, parent.targets
    else:
        pipeline = Pipeline.fit(X_train, standardize=config["standardize"], dtype=dtype,
                                preprocessing=preprocessing)
        targets = None
        if task == "regression" and config.get("standardize_targets", True):
            targets = TargetScaler.fit(Y_train)
    if targets is not None:
        Y_train = targets.transform(Y_train)
    validation = None
    if val_rows is not None:
        Y_val = Y[val_rows] if targets is None else targets.transform(Y[val_rows])
        validation = (pipeline.transform(X.take(val_rows)), Y_val)
    return Prepared(pipeline, pipeline.transform(X_train), np.ascontiguousarray(Y_train),
                    validation, targets, None if parent is None else parent.id)


def validation_report(task: str, net: Any, data: Prepared, classes: list[Any] | None,
                      names: list[str] | None = None) -> dict[str, Any] | None:
    """The evaluation report (``worker.report``) of the network's weights — the model's — on
    the validation part, in target units; None without a validation part."""
    from service.evaluation import report_of

    if data.validation is None:
        return None
    X_val, Y_val = data.validation
    with np.errstate(all="ignore"):
        out = np.asarray(net.logits_and_outputs(X_val)[1], dtype=np.float64)
    if not np.isfinite(out).all():
        return None  # a diverged network's outputs have no report
    if task == "classification":
        return report_of(task, classes, np.argmax(Y_val, axis=1), out)
    if data.targets is not None:  # back to target units
        Y_val, out = data.targets.inverse(Y_val), data.targets.inverse(out)
    return report_of(task, classes, Y_val, out, names)


def _start(ctx: JobContext, dataset: tables.Dataset, task: str, config: dict[str, Any],
           streams: Any) -> tuple[Prepared, Any, int, list[Any] | None]:
    """``(data, net, n_outputs, classes)``: the data prepared and the network at epoch 0 (a
    fine-tuning job's: in its parent's terms, with its parent's pipeline and weights)."""
    from worker.nn import Network

    spec = ctx.job.spec
    X, Y, n_outputs, classes = training_arrays(dataset, task, ctx.db)
    parent = load_parent(ctx.db, tenant_id=ctx.job.tenant_id, spec=spec, dtype=config["dtype"])
    X, Y, n_outputs, classes = in_terms_of(parent, dataset, X, Y, classes)
    data = prepare(X, Y, config, streams.generator("split"), np.dtype(config["dtype"]),
                   fill_preprocessing(spec.get("preprocessing")), task=task, parent=parent)
    net = Network.from_spec(spec.get("network") or {}, data.pipeline.width, n_outputs,
                            seed=config["seed"], dtype=config["dtype"], task=task)
    if parent is not None:  # fine-tuning: the parent's weights, cast to this job's dtype
        net.params = parent.params
    return data, net, n_outputs, classes


def run_train(ctx: JobContext) -> None:
    from worker.jobs.divergence import Diverged, explain, likely_causes
    from worker.nn import (
        DivergedError,
        RandomStreams,
        TrainingState,
        fill_training_defaults,
        run_fit,
    )

    db, job, spec = ctx.db, ctx.job, ctx.job.spec
    dataset = load_dataset(db, tenant_id=job.tenant_id, dataset_id=job.dataset_id)
    ctx.mark("dataset read")
    task = spec.get("task") or (
        "classification" if dataset.target_kind == "labels" else "regression"
    )
    config = fill_training_defaults(spec.get("training"))
    streams = RandomStreams(config["seed"])
    data, net, n_outputs, classes = _start(ctx, dataset, task, config, streams)
    checkpoint = queue.load_checkpoint(db, job_id=job.id)
    ctx.mark("prepared")
    recorder = EpochRecorder(ctx)
    if checkpoint is not None:
        recorder.checkpointed_epoch = checkpoint[0]
    stop_seen = False
    pruner = TrialPruner.for_job(db, job.id)  # a sweep's trial with early termination
    on_epoch = recorder.on_epoch if pruner is None else _both(recorder.on_epoch, pruner)

    def should_stop() -> bool:
        nonlocal stop_seen
        stop_seen = stop_seen or ctx.should_stop()
        return stop_seen or (pruner is not None and pruner.pruned_epoch is not None)

    try:
        run = run_fit(
            net, data.X, data.Y, config, task=task, streams=streams,
            validation=data.validation, on_epoch=on_epoch, should_stop=should_stop,
            state=None if checkpoint is None else TrainingState.from_bytes(checkpoint[1]),
            target_scale=None if data.targets is None else data.targets.scale,
            labels=classes,
        )
        if stop_seen:
            # The engine stopped because we asked: keep the last finished epoch. (When that
            # was the run's last epoch, the next attempt resumes with nothing left but to
            # finish.)
            recorder.checkpoint()
            raise Stopped
        last_rows = recorder.take_rows()  # written with the outcome
        if pruner is not None and pruner.pruned_epoch is not None:
            pruner.record()
    except DivergedError as exc:  # name the likely cause the job can see
        causes = likely_causes(task=task, X=data.X, Y=data.Y, optimizer=config["optimizer"],
                               standardized=bool(config["standardize"]))
        raise Diverged(exc.epoch, explain(str(exc), causes)) from exc
    finally:
        recorder.close()
    ctx.mark("trained")
    _finish(ctx, dataset, task, net, data, classes, n_outputs, run, last_rows)
    ctx.mark("finished")


def _both(on_epoch: Any, pruner: TrialPruner) -> Any:
    """The recorder's ``on_epoch``, then the sweep's pruner (which may stop the run)."""

    def both(epoch: int, row: dict[str, Any], state: Any) -> None:
        on_epoch(epoch, row, state)
        pruner.on_epoch(epoch, row)

    return both


def _finish(ctx: JobContext, dataset: tables.Dataset, task: str, net: Any, data: Prepared,
            classes: list[Any] | None, n_outputs: int, run: Any,
            last_rows: list[queue.EpochRow]) -> None:
    """Store the model: the weights (with the pipeline's state and the target scaling) and the
    metrics of the epoch whose weights they are (``run.kept_epoch``: from this attempt's
    history, or the epoch rows when it ran before a resume), with the epoch rows not written
    yet (``last_rows``), in one transaction."""
    job, pipeline = ctx.job, data.pipeline
    kept = run.kept_epoch
    row = next((r for r in run.history if int(r["epoch"]) == kept), None)
    metrics = history_row(row)[0] if row is not None else (
        epoch_metrics(ctx.db, job_id=job.id, epoch=kept) if kept else None)
    arrays = pipeline.to_arrays()
    if data.targets is not None:
        arrays.update(data.targets.to_arrays())
    weights, sha256 = encode_weights(net.params, arrays)
    names = dataset.target_names if task == "regression" else None
    model = tables.Model(
        id=new_id("mdl"), tenant_id=job.tenant_id, job_id=job.id, dataset_id=dataset.id,
        task=task, spec=job.spec, n_features=pipeline.n_features,
        columns=model_columns(pipeline),
        n_targets=1 if task == "classification" else n_outputs, classes=classes,
        metrics=metrics, epochs_trained=run.last_epoch, best_epoch=kept or None,
        evaluation=validation_report(task, net, data, classes,
                                     names if names and len(names) == n_outputs else None),
        weights=weights, weights_sha256=sha256, parent_model_id=data.parent_model_id,
    )
    last = run.history[-1].get("diagnostics") if run.history else None
    if not queue.finish(ctx.db, job_id=job.id, lease_token=job.lease_token, model=model,
                        warnings=None if last is None else list(last["warnings"]),
                        epochs=last_rows):
        raise LeaseLost
