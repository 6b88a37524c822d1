"""A model's evaluation report on a stored dataset with targets (``worker.report``).

Shared by the API (``POST /v1/models/{id}/evaluations`` answers small datasets inline) and the
worker (an ``evaluate`` job for large ones): the dataset's columns are matched to the model's by
name as batch predictions are (``service.inference.matching``), its targets read in the model's
terms — labels mapped onto the model's classes, in the model's class order — and the model's
outputs compared with them. ``EvaluationProblem`` says why a dataset cannot be evaluated; the
API answers it as a 422 at ``body.dataset_id``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from service import tables
from service.db import Database
from service.inference import matching
from service.repository.datasets import read_columns
from worker.pipeline import Table, as_labels, as_values
from worker.report import classification_report, multilabel_report, regression_report


class EvaluationProblem(ValueError):
    """The dataset cannot be evaluated by the model (the message says why)."""


def check(model: tables.Model, dataset: tables.Dataset) -> None:
    """What can be said before reading the dataset's rows: columns and targets."""
    problem = matching.problem(model.columns, model.n_features, dataset)
    if problem is not None:
        raise EvaluationProblem(f"model {model.id}: {problem}")
    if not dataset.n_targets:
        raise EvaluationProblem(
            f"dataset {dataset.id} has no targets; an evaluation compares the model's "
            "predictions with a dataset's targets")


def class_indices(model: tables.Model, dataset: tables.Dataset, y: np.ndarray) -> np.ndarray:
    """The dataset's labels as indices into the model's classes ``(n,)``."""
    if dataset.target_kind == "labels":
        labels = list(dataset.classes or [])
        indices = np.asarray(y, dtype=np.int64).reshape(-1)
    else:
        try:
            indices, labels = as_labels(y)
        except ValueError as exc:
            raise EvaluationProblem(f"dataset {dataset.id}: a classifier's targets are "
                                    f"labels; {exc}") from None
    position = {label_key(c): i for i, c in enumerate(model.classes or [])}
    mapped = []
    for label in labels:
        if label_key(label) not in position:
            known = ", ".join(repr(c) for c in (model.classes or [])[:20])
            raise EvaluationProblem(f"dataset {dataset.id} has the label {label!r}, which "
                                    f"the model does not know (its classes: {known})")
        mapped.append(position[label_key(label)])
    return np.asarray(mapped, dtype=np.int64)[np.asarray(indices, dtype=np.int64)]


def label_key(label: Any) -> Any:
    """Labels compare as the model stores them: 1 and 1.0 alike, "1" apart from 1."""
    return ("s", label) if isinstance(label, str) else ("n", float(label))


def target_values(model: tables.Model, dataset: tables.Dataset, y: np.ndarray) -> np.ndarray:
    """The dataset's targets as values ``(n, n_targets)`` float64."""
    try:
        Y = (as_values(y, dataset.classes or []) if dataset.target_kind == "labels"
             else np.asarray(y, dtype=np.float64))
    except ValueError as exc:
        raise EvaluationProblem(f"dataset {dataset.id}: regression needs numeric targets; "
                                f"{exc}") from None
    Y = Y[:, None] if Y.ndim == 1 else Y
    if Y.shape[1] != model.n_targets:
        raise EvaluationProblem(f"dataset {dataset.id} has {Y.shape[1]} target columns; the "
                                f"model predicts {model.n_targets}")
    return Y


def label_columns(model: tables.Model, dataset: tables.Dataset, y: np.ndarray) -> np.ndarray:
    """A multi-label dataset's 0/1 target columns ``(n, L)`` in the model's label order: by
    the target columns' names when they are all labels of the model (a label the dataset never
    names is never true there: label sets name only the labels they use), by position when the
    dataset's or the model's labels are unnamed (``"0"``…), else a label the model does not
    know is refused (reading ``a, b`` as ``blue, green`` by position would be a wrong report)."""
    Y = np.asarray(y, dtype=np.float64)
    Y = Y[:, None] if Y.ndim == 1 else Y
    labels = [str(v) for v in (model.classes or [])]
    names = [str(v) for v in (dataset.target_names or [])]
    named = names and labels != [str(j) for j in range(len(labels))]
    if names and len(names) == Y.shape[1] and set(names) <= set(labels):
        full = np.zeros((Y.shape[0], len(labels)))
        full[:, [labels.index(name) for name in names]] = Y
        Y = full
    elif named and len(names) == Y.shape[1]:
        unknown = next(name for name in names if name not in labels)
        raise EvaluationProblem(f"dataset {dataset.id} has the label {unknown!r}, which the "
                                f"model does not know (its labels: {', '.join(labels[:20])})")
    elif Y.shape[1] != len(labels):
        raise EvaluationProblem(f"dataset {dataset.id} has {Y.shape[1]} target columns; the "
                                f"model has {len(labels)} labels ({', '.join(labels[:20])})")
    bad = np.argwhere((Y != 0) & (Y != 1))
    if bad.size:
        row, column = (int(v) for v in bad[0])
        raise EvaluationProblem(f"dataset {dataset.id}: multi-label targets are 0 or 1 (row "
                                f"{row}, column {column}: {float(Y[row, column])!r})")
    return Y


def report_of(task: str, classes: list[Any] | None, Y: np.ndarray, out: np.ndarray,
              names: list[str] | None = None) -> dict[str, Any]:
    """The report of outputs ``out`` ``(n, k)`` against targets ``Y``: class indices ``(n,)``
    (classification), values ``(n, t)`` (regression) or 0/1 label sets ``(n, L)``
    (multilabel)."""
    if task == "classification":
        return classification_report(Y, out, classes or [])
    if task == "multilabel":
        return multilabel_report(Y, out, classes or [])
    return regression_report(Y, out, names)


def evaluate(model: tables.Model, dataset: tables.Dataset, *, db: Database | None = None
             ) -> dict[str, Any]:
    """The report of ``model`` on every row of ``dataset`` (``EvaluationProblem`` if none);
    ``db`` is the database whose artifact store holds the dataset's columns."""
    from service import inference

    check(model, dataset)
    table, y = read_columns(db, dataset)
    if y is None:
        raise EvaluationProblem(f"dataset {dataset.id} has no targets")
    loaded = inference.load_model(model)
    X: Any = table.matrix() if loaded.columns is None else None
    if X is None:
        try:
            X = matching.model_table(loaded.columns or [], table,
                                     by_position=matching.unnamed(dataset))
        except ValueError as exc:
            raise EvaluationProblem(f"dataset {dataset.id}: {exc}") from None
    try:
        out = inference.outputs(loaded, X if isinstance(X, Table) else np.asarray(X))
    except inference.PredictionError as exc:
        raise EvaluationProblem(f"dataset {dataset.id}: {exc}") from None
    if model.task == "classification":
        return report_of(model.task, model.classes, class_indices(model, dataset, y), out)
    if model.task == "multilabel":
        return report_of(model.task, model.classes, label_columns(model, dataset, y), out)
    names = dataset.target_names
    return report_of(model.task, None, target_values(model, dataset, y), out,
                     names if names and len(names) == model.n_targets else None)
