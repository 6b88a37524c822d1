"""Typed views of the API's JSON objects (docs/api.md), as frozen dataclasses.

Each has ``from_dict`` that takes the server's object, keeps the fields named here and the whole
object in ``raw`` (the API may add fields; nothing is lost). Timestamps stay ISO-8601 strings.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T", bound="_APIObject")

FINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})


@dataclasses.dataclass(frozen=True)
class _APIObject:
    raw: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any]) -> T:
        names = {f.name for f in dataclasses.fields(cls)} - {"raw"}
        return cls(raw=dict(data), **{k: v for k, v in data.items() if k in names})

    def to_dict(self) -> dict[str, Any]:
        """The server's object as received (every field, also those not named here)."""
        return dict(self.raw)


@dataclasses.dataclass(frozen=True)
class Dataset(_APIObject):
    id: str = ""
    name: str | None = None
    n_rows: int = 0
    n_features: int = 0
    n_targets: int = 0
    target_kind: str | None = None
    classes: list[Any] | None = None
    sha256: str = ""
    bytes: int = 0
    created_at: str | None = None
    feature_names: list[str] | None = None
    target_names: list[str] | None = None
    columns: list[dict[str, Any]] | None = None  # name, kind, missing, categories (a count)
    # Upload answers only: the same content was there already (``message`` names that dataset);
    # what the server guessed about the targets and how to change it (``hint``).
    # Not compared: the dataset is the same however it was obtained.
    deduplicated: bool = dataclasses.field(default=False, compare=False)
    message: str | None = dataclasses.field(default=None, compare=False)
    hint: str | None = dataclasses.field(default=None, compare=False)


@dataclasses.dataclass(frozen=True)
class Job(_APIObject):
    id: str = ""
    kind: str = "train"
    status: str = "queued"
    dataset_id: str | None = None
    spec: dict[str, Any] = dataclasses.field(default_factory=dict)
    progress: dict[str, Any] = dataclasses.field(default_factory=dict)
    metrics: dict[str, Any] | None = None
    best_epoch: int | None = None
    attempts: int = 0
    max_attempts: int = 0
    model_id: str | None = None
    prediction_id: str | None = None
    error: dict[str, Any] | None = None
    cancel_requested: bool = False
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None

    @property
    def done(self) -> bool:
        """True once the job is succeeded, failed or cancelled (it will not change again)."""
        return self.status in FINAL_STATUSES

    @property
    def epoch(self) -> int:
        return int((self.progress or {}).get("epoch") or 0)

    @property
    def epochs(self) -> int | None:
        value = (self.progress or {}).get("epochs")
        return int(value) if value is not None else None


@dataclasses.dataclass(frozen=True)
class HistoryRow(_APIObject):
    """One finished epoch; ``metrics`` holds every number of the row (accuracy or mae/r2 …)."""

    epoch: int = 0
    loss: float | None = None
    val_loss: float | None = None
    seconds: float | None = None

    @property
    def metrics(self) -> dict[str, Any]:
        return {k: v for k, v in self.raw.items() if k != "epoch"}


@dataclasses.dataclass(frozen=True)
class Estimate(_APIObject):
    parameters: int = 0
    flops_per_epoch: float = 0
    memory_bytes: int = 0
    estimated_seconds: float = 0.0


@dataclasses.dataclass(frozen=True)
class Model(_APIObject):
    id: str = ""
    job_id: str | None = None
    dataset_id: str | None = None
    task: str = ""
    spec: dict[str, Any] = dataclasses.field(default_factory=dict)
    n_features: int = 0
    classes: list[Any] | None = None
    n_targets: int = 0
    metrics: dict[str, Any] | None = None
    epochs_trained: int = 0
    best_epoch: int | None = None
    weights_sha256: str = ""
    created_at: str | None = None
    columns: list[dict[str, Any]] | None = None  # name, kind, categories (seen in training)
    evaluation: dict[str, Any] | None = None  # the report on the validation part
    name: str | None = None
    description: str | None = None
    tags: list[str] = dataclasses.field(default_factory=list)
    parent_model_id: str | None = None  # fine-tuned from (training.init_from_model)


@dataclasses.dataclass(frozen=True)
class Alias(_APIObject):
    """A name for one of the tenant's models (``PUT /v1/models/aliases/{alias}``)."""

    alias: str = ""
    model_id: str = ""
    created_at: str | None = None
    updated_at: str | None = None  # when it last moved


@dataclasses.dataclass(frozen=True)
class Evaluation(_APIObject):
    """A model's report on a dataset (``GET /v1/evaluations/{id}``; docs/api.md)."""

    id: str = ""
    model_id: str = ""
    dataset_id: str | None = None
    job_id: str | None = None
    status: str = ""
    n_rows: int = 0
    report: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    created_at: str | None = None


@dataclasses.dataclass(frozen=True)
class PredictResult(_APIObject):
    """The answer of ``POST /v1/models/{id}/predict``."""

    predictions: list[Any] = dataclasses.field(default_factory=list)
    probabilities: list[Any] | None = None  # per class; multilabel: {label: p} per row
    prediction_id: str | None = None
    ignored_columns: list[str] | None = None  # inputs by name: keys the model does not take


@dataclasses.dataclass(frozen=True)
class Prediction(_APIObject):
    """A stored prediction (``GET /v1/predictions/{id}``)."""

    id: str = ""
    model_id: str | None = None
    n_rows: int = 0
    predictions: list[Any] = dataclasses.field(default_factory=list)
    probabilities: list[Any] | None = None  # per class; multilabel: {label: p} per row
    created_at: str | None = None


@dataclasses.dataclass(frozen=True)
class Event:
    """One event of a job's stream: ``kind`` "status" carries ``job``, "epoch" carries ``row``."""

    kind: str
    id: str | None = None
    job: Job | None = None
    row: HistoryRow | None = None
