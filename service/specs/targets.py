"""A dataset's targets as a job's task reads them: the task may override the upload's guess.

Numeric labels can be trained as values (regression), and a single column of whole-number
values as labels (classification); anything else is refused with 422 at submit, saying why.
``trained_as`` gives the dataset's metadata as the job will see it (kind, classes, outputs), so
the parameter count and the estimate size the output layer right. Reading values as labels
needs the values themselves (``service.repository.datasets.read_targets``: the stored ``y``,
read only then).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from service import tables
from service.errors import InvalidInput, field_error
from worker.pipeline import as_labels, as_multilabel, as_values
from worker.pipeline.targets import TASK_NEEDS

TASK_OF_KIND = {"labels": "classification", "values": "regression"}


@dataclass(frozen=True)
class TrainedAs:
    """The fields of ``tables.Dataset`` that size a job, with its targets read as the task's
    kind (``target_kind``, ``classes``, ``n_targets``)."""

    id: str
    n_rows: int
    n_features: int
    n_targets: int
    target_kind: str
    classes: list[Any] | None
    columns: list[dict[str, Any]] | None = None  # the dataset's column schema (input width)


def default_task(dataset: Any) -> str:
    """A job's task when none is given: the one the targets' form implies (``multilabel`` for
    label sets), else the one of the dataset's target kind."""
    return getattr(dataset, "task", None) or TASK_OF_KIND[dataset.target_kind]


def needs_targets(task: str | None, dataset: tables.Dataset) -> bool:
    """Whether reading the dataset for ``task`` (None: its default) needs its stored values
    (values as labels, or as multilabel 0/1 columns)."""
    if task is None and dataset.target_kind is not None:
        task = default_task(dataset)
    return task in ("classification", "multilabel") and dataset.target_kind == "values"


def load_targets(session: Session, dataset: tables.Dataset) -> np.ndarray | None:
    """The dataset's stored ``y`` (reads only it: for ``needs_targets``), from its row or the
    artifact store of the session's database."""
    from service.repository.datasets import read_targets

    url = session.get_bind().engine.url.render_as_string(hide_password=False)
    return read_targets(url, dataset, session)


def trained_as(
    dataset: tables.Dataset, task: str, targets: np.ndarray | None = None
) -> TrainedAs:
    """The dataset as ``task`` reads its targets; ``InvalidInput`` at ``task`` saying why it
    cannot (``targets``: the stored ``y``, needed to read values as labels)."""
    kind, classes, n_targets = dataset.target_kind, dataset.classes, dataset.n_targets
    try:
        if task == "regression" and kind == "labels":
            as_values(np.zeros(0, np.int64), classes or [])
            kind, classes, n_targets = "values", None, 1
        elif task == "classification" and kind == "values":
            if dataset.n_targets != 1:
                raise ValueError(f"it has {dataset.n_targets} target columns; labels are one "
                                 "per row")
            if targets is None:
                raise ValueError("its values could not be read")
            _, classes = as_labels(targets)
            kind = "labels"
        elif task == "multilabel":
            if kind != "values":
                raise ValueError("its targets are one label per row (for that, use task "
                                 "classification)")
            if targets is None:
                raise ValueError("its values could not be read")
            _, classes = as_multilabel(targets, dataset.target_names)
            n_targets = len(classes)
        if task == "classification" and len(classes or []) < 2:
            raise ValueError("at least 2 classes are needed; it has " + (
                f"only one, {classes[0]!r}" if classes else "none"))
    except ValueError as exc:
        message = f"{TASK_NEEDS[task]}; dataset {dataset.id}: {exc}"
        raise InvalidInput(message, errors=[field_error(["body", "task"], message)]) from None
    return TrainedAs(dataset.id, dataset.n_rows, dataset.n_features, n_targets, str(kind),
                     classes, dataset.columns)


def upload_hint(target_kind: str | None, classes: list[Any] | None, given: bool,
                task: str | None = None) -> str | None:
    """What the upload's answer says about its target kind: what was guessed and how to change
    it (None when the kind was given, or there are no targets). ``task``: the dataset's own
    (``multilabel`` for label sets)."""
    if task == "multilabel":
        return ("The targets are label sets: stored as one 0/1 column per label (target_kind "
                "'values'), and a job trains them with task 'multilabel' unless it gives "
                "another task.")
    if given or target_kind is None:
        return None
    if target_kind == "labels":
        if any(isinstance(c, str) for c in classes or []):
            return "target_kind 'labels' was guessed: the targets are strings."
        return (f"target_kind 'labels' was guessed: the targets are whole numbers "
                f"({len(classes or [])} classes). If they are quantities, submit the job with "
                "task 'regression' (numeric labels train as values), or upload again with "
                "target_kind 'values'.")
    return ("target_kind 'values' was guessed: the targets are numbers with fractions, or "
            "several columns. To train a classifier, submit the job with task "
            "'classification' (works when every value is a whole number), or upload again "
            "with target_kind 'labels'; for several 0/1 columns (one per label), task "
            "'multilabel'.")
