"""Job responses: the job object, its history and the pre-submit estimate."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from service import tables
from service.queue.kinds import JOB_KINDS, kind_names
from service.schemas.common import json_safe


class JobProgress(BaseModel):
    epoch: int
    epochs: int | None


class JobError(BaseModel):
    code: str = Field(
        examples=["DIVERGED", "INVALID_INPUT", "WORKER_LOST", "INTERNAL", "RESOURCE_LIMIT"]
    )
    message: str


class JobPublic(BaseModel):
    id: str = Field(examples=["job_01JD4X0Q2ZK3N5V7W9Y1A3C5E7"])
    kind: str = Field(
        json_schema_extra={"enum": list(kind_names())},
        description=" ".join(f"`{k.name}`: {k.description}" for k in JOB_KINDS.values()),
    )
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    dataset_id: str | None
    spec: dict[str, Any] = Field(description="The full spec, defaults filled in")
    progress: JobProgress
    metrics: dict[str, float | None] | None = Field(description=(
        "The latest epoch's metrics while running; once succeeded, those of the model's "
        "weights (the history row of best_epoch)"))
    best_epoch: int | None = Field(default=None, description=(
        "Once succeeded: the epoch whose weights the model holds (the best validation epoch "
        "under early_stopping.restore_best, else the last)"))
    attempts: int
    max_attempts: int
    model_id: str | None
    prediction_id: str | None = Field(description="The stored result of a predict job")
    sweep_id: str | None = Field(default=None, description="The sweep this job is a trial of")
    error: JobError | None
    cancel_requested: bool
    warnings: list[str] = Field(default_factory=list, description=(
        "What the per-layer diagnostics (training.diagnostics) show to be wrong, in plain "
        "words, as of the latest epoch: vanishing or exploding gradients, dead ReLUs, a "
        "learning rate too high (docs/api.md \"Diagnostics\")"))
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None

    @classmethod
    def of(cls, row: tables.Job) -> JobPublic:
        error = None
        if row.error_code:
            error = JobError(code=row.error_code, message=row.error_message or "")
        metrics = json_safe(row.metrics) if row.metrics else None
        warnings = list(metrics.pop("warnings", None) or []) if metrics else []
        return cls(
            id=row.id, kind=row.kind, status=row.status, dataset_id=row.dataset_id,
            spec=json_safe(row.spec), metrics=metrics, best_epoch=row.best_epoch,
            progress=JobProgress(epoch=row.progress_epoch or 0, epochs=row.progress_epochs),
            attempts=row.attempts, max_attempts=row.max_attempts, model_id=row.model_id,
            prediction_id=row.prediction_id, sweep_id=row.sweep_id, error=error,
            cancel_requested=bool(row.cancel_requested), warnings=warnings,
            created_at=row.created_at,
            started_at=row.started_at, finished_at=row.finished_at,
        )


class HistoryRow(BaseModel):
    """One finished epoch: ``loss``, ``val_loss`` and accuracy (classification) or mae/r2, and
    the epoch's ``learning_rate``."""

    model_config = ConfigDict(extra="allow")

    epoch: int
    seconds: float | None = None


class HistoryPublic(BaseModel):
    data: list[HistoryRow]


def history_row(row: tables.JobEpoch, diagnostics: bool = True) -> dict[str, Any]:
    """The epoch row as the API shows it; ``diagnostics=False`` leaves that block out."""
    metrics = json_safe(row.metrics or {})
    if not diagnostics:
        metrics.pop("diagnostics", None)
    return {"epoch": row.epoch, **metrics, "seconds": row.seconds}


class AttemptPublic(BaseModel):
    """One attempt at a job: the claim of a worker and how it ended."""

    attempt: int = Field(description="The job's attempt count at this claim (a released "
                         "attempt is not counted: the next claim has the same number)")
    worker: str = Field(description="The worker process that claimed it (its lease owner)")
    started_at: dt.datetime
    ended_at: dt.datetime | None
    outcome: Literal["running", "succeeded", "failed", "cancelled", "released"] = Field(
        description="`released`: given back at a graceful stop, resumed from its checkpoint"
    )
    error: JobError | None = Field(
        description="Why a failed attempt failed; `WORKER_LOST` when its worker stopped "
        "answering (the job is retried while attempts are left)"
    )

    @classmethod
    def of(cls, row: tables.JobAttempt) -> AttemptPublic:
        error = None
        if row.error_code:
            error = JobError(code=row.error_code, message=row.error_message or "")
        return cls(attempt=row.attempt, worker=row.worker, started_at=row.started_at,
                   ended_at=row.ended_at, outcome=row.outcome,
                   error=error)


class AttemptsPublic(BaseModel):
    data: list[AttemptPublic]


class EstimatePublic(BaseModel):
    parameters: int
    flops_per_epoch: float
    memory_bytes: int
    estimated_seconds: float
