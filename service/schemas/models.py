"""Model responses and the predict request."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from service import tables
from service.schemas.common import json_safe
from service.schemas.datasets import Label


class ModelColumn(BaseModel):
    name: str
    kind: Literal["numeric", "categorical"]
    categories: list[str] | None = Field(
        description="The categories seen in training (categorical columns); others are unknown")


class ModelPublic(BaseModel):
    id: str = Field(examples=["mdl_01JD4X0Q2ZK3N5V7W9Y1A3C5E7"])
    job_id: str
    dataset_id: str | None
    task: Literal["classification", "regression", "multilabel"]
    spec: dict[str, Any]
    n_features: int
    columns: list[ModelColumn] | None = Field(
        description="The raw columns the model takes, by name (null: a model trained before "
                    "columns had kinds takes n_features numbers by position)")
    classes: list[Label] | None
    n_targets: int
    metrics: dict[str, float | None] | None = Field(
        description="The history row of best_epoch: the metrics of these weights")
    epochs_trained: int
    best_epoch: int | None = Field(default=None, description=(
        "The epoch whose weights these are (the best under early_stopping.restore_best, "
        "else the last); null for models from before it was recorded"))
    evaluation: dict[str, Any] | None = Field(default=None, description=(
        "The evaluation report of these weights on the validation part (docs/api.md, "
        "Evaluation reports); null without a validation part"))
    weights_sha256: str
    name: str | None = Field(default=None, description="Set by PATCH; null until then")
    description: str | None = Field(default=None, description="Set by PATCH")
    tags: list[str] = Field(default_factory=list, description="Set by PATCH")
    parent_model_id: str | None = Field(default=None, description=(
        "The model this one was fine-tuned from (training.init_from_model); null otherwise"))
    created_at: dt.datetime

    @classmethod
    def of(cls, row: tables.Model) -> ModelPublic:
        return cls(
            id=row.id, job_id=row.job_id, dataset_id=row.dataset_id, task=row.task,
            spec=json_safe(row.spec), n_features=row.n_features,
            columns=[ModelColumn.model_validate(c) for c in row.columns] if row.columns else None,
            classes=row.classes,
            n_targets=row.n_targets, metrics=json_safe(row.metrics) if row.metrics else None,
            epochs_trained=row.epochs_trained, best_epoch=row.best_epoch,
            evaluation=json_safe(row.evaluation) if row.evaluation else None,
            weights_sha256=row.weights_sha256,
            name=row.name, description=row.description, tags=list(row.tags or []),
            parent_model_id=row.parent_model_id,
            created_at=row.created_at,
        )


class PredictCreate(BaseModel):
    inputs: list[list[float | str | None]] | list[dict[str, Any]] = Field(
        min_length=1,
        description="Rows of n_features values by position (strings in categorical columns), "
                    "or records {column: value} by name (any order); null = a missing cell",
        examples=[[[0.0, 1.5, 2.0]]],
    )
    store: bool = Field(default=False, description="Keep the result as a prediction resource")


class PredictPublic(BaseModel):
    predictions: list[Any] = Field(
        description="Labels, numbers, rows of numbers, or label sets (multilabel)")
    probabilities: list[list[float] | dict[str, float]] | None = Field(
        description="One column per class, in the order of the model's classes; multilabel: "
                    "{label: probability} per row"
    )
    prediction_id: str | None
    ignored_columns: list[str] | None = Field(
        default=None, description="Inputs by name: the keys the model does not take (ignored)")


class BatchPredictCreate(BaseModel):
    dataset_id: str
