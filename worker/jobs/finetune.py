"""A fine-tuning train job's start (``training.init_from_model``): the parent model's weights,
its fitted pipeline and target scaling — kept, not refitted — and the training data put in the
parent's terms (``in_terms_of``): its columns in the parent's order, its targets on the parent's
outputs (classes, labels or target columns). The data come from ``train.training_arrays`` as for
any job; the API checked the columns and the task at submit (``service.specs.finetune``), and
what only the rows show (a label the parent does not know) fails the job as invalid here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from service import tables
from service.artifacts import decode_weights_file
from service.db import Database
from service.evaluation import label_key
from service.inference import matching
from service.repository.models import find_model
from worker.jobs.base import InvalidJob
from worker.pipeline import Pipeline, Table, TargetScaler


@dataclass(frozen=True, eq=False)
class Parent:
    """The model a job fine-tunes: ``params`` ``[W0, b0, …]`` and what was fitted before and
    after its network."""

    model: tables.Model
    params: list[np.ndarray]
    pipeline: Pipeline
    targets: TargetScaler | None

    @property
    def id(self) -> str:
        return self.model.id


def load_parent(db: Database, *, tenant_id: str, spec: dict[str, Any],
                dtype: Any) -> Parent | None:
    """The job's parent model (None when it does not fine-tune), its pipeline in ``dtype``."""
    model_id = (spec.get("training") or {}).get("init_from_model")
    if model_id is None:
        return None
    model = find_model(db, tenant_id=tenant_id, model_id=model_id, with_weights=True)
    if model is None:
        raise InvalidJob(f"training.init_from_model: model {model_id} does not exist (was it "
                         "deleted?)")
    params, fitted = decode_weights_file(model.weights)
    pipeline = Pipeline.from_arrays(fitted, n_features=model.n_features, dtype=dtype)
    return Parent(model, params, pipeline, TargetScaler.from_arrays(fitted))


def in_terms_of(parent: Parent | None, dataset: tables.Dataset, X: Table, Y: np.ndarray,
                classes: list[Any] | None) -> tuple[Table, np.ndarray, int, list[Any] | None]:
    """``(X, Y, n_outputs, classes)`` of ``train.training_arrays`` on the parent's outputs:
    ``X`` with the parent's columns in its order, ``Y`` with one column per output of the
    parent (its classes, its labels by name, its target columns); as given without a parent."""
    if parent is None:
        return X, Y, int(Y.shape[1]), classes
    model = parent.model
    try:
        if parent.pipeline.columns is not None:
            X = matching.model_table(parent.pipeline.columns, X,
                                     by_position=matching.unnamed(dataset))
        if model.task == "regression":
            if Y.shape[1] != model.n_targets:
                raise ValueError(f"dataset {dataset.id} has {Y.shape[1]} target columns; the "
                                 f"model predicts {model.n_targets}")
            return X, Y, model.n_targets, None
        theirs = list(model.classes or [])
        return X, _on_outputs(Y, classes or [], theirs, dataset), len(theirs), theirs
    except ValueError as exc:
        raise InvalidJob(f"fine-tuning model {model.id}: {exc}") from None


def _on_outputs(Y: np.ndarray, ours: list[Any], theirs: list[Any],
                dataset: tables.Dataset) -> np.ndarray:
    """``Y``'s columns (one per class or label of ``ours``) moved to their places among the
    parent's ``theirs``; a column the parent does not know is refused."""
    position = {label_key(c): j for j, c in enumerate(theirs)}
    unknown = [c for c in ours if label_key(c) not in position]
    if unknown:
        known = ", ".join(repr(c) for c in theirs[:20])
        raise ValueError(f"dataset {dataset.id} has the label {unknown[0]!r}, which the model "
                         f"does not know (its labels: {known})")
    out = np.zeros((Y.shape[0], len(theirs)), dtype=Y.dtype)
    out[:, [position[label_key(c)] for c in ours]] = Y
    return out
