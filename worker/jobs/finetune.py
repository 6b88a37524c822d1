"""A fine-tuning train job's start (``training.init_from_model``): the parent model's weights,
its fitted pipeline and target scaling — kept, not refitted — and the dataset read in the
parent's terms: its columns in the parent's order, its targets as the parent's classes (or
labels, or target columns). The API checked the columns and the task at submit
(``service.specs.finetune``); what only the rows show (a label the parent does not know, read
from values) fails the job as invalid here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from service import tables
from service.artifacts import decode_table, decode_weights_file
from service.db import Database
from service.evaluation import EvaluationProblem, class_indices, label_columns, target_values
from service.inference import matching
from service.repository.models import find_model
from worker.jobs.base import InvalidJob
from worker.pipeline import MissingColumn, Pipeline, Table, TargetScaler, one_hot


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

    def training_arrays(self, dataset: tables.Dataset,
                        task: str) -> tuple[Table, np.ndarray, int, list[Any] | None]:
        """``(X, Y, n_outputs, classes)`` as ``train.training_arrays`` gives them, in the
        parent's terms."""
        table, y = decode_table(dataset.content)
        if y is None or not dataset.n_targets:
            raise InvalidJob(f"dataset {dataset.id} has no targets, so it can only be used "
                             "for predictions")
        model = self.model
        try:
            if self.pipeline.columns is not None:
                table = matching.model_table(self.pipeline.columns, table,
                                             by_position=matching.unnamed(dataset))
            if task == "classification":
                classes = list(model.classes or [])
                Y = one_hot(class_indices(model, dataset, y), len(classes))
                return table, Y, len(classes), classes
            if task == "multilabel":
                labels = list(model.classes or [])
                return table, label_columns(model, dataset, y), len(labels), labels
            return table, target_values(model, dataset, y), model.n_targets, None
        except (EvaluationProblem, MissingColumn, ValueError) as exc:
            raise InvalidJob(f"fine-tuning model {model.id}: {exc}") from None


def load_parent(db: Database, *, tenant_id: str, spec: dict[str, Any],
                dtype: Any) -> Parent | None:
    """The job's parent model (None when it does not fine-tune), its pipeline in ``dtype``."""
    model_id = ((spec.get("training") or {}).get("init_from_model"))
    if model_id is None:
        return None
    model = find_model(db, tenant_id=tenant_id, model_id=model_id, with_weights=True)
    if model is None:
        raise InvalidJob(f"training.init_from_model: model {model_id} does not exist (was it "
                         "deleted?)")
    params, fitted = decode_weights_file(model.weights)
    pipeline = Pipeline.from_arrays(fitted, n_features=model.n_features, dtype=dtype)
    return Parent(model, params, pipeline, TargetScaler.from_arrays(fitted))
