"""Evaluation responses and the evaluate request."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from service import tables
from service.schemas.common import json_safe
from service.schemas.jobs import JobError


class EvaluationCreate(BaseModel):
    dataset_id: str = Field(description="A dataset with targets, columns named as the model's")


class EvaluationPublic(BaseModel):
    id: str = Field(examples=["eval_01JD4X0Q2ZK3N5V7W9Y1A3C5E7"])
    model_id: str
    dataset_id: str | None
    job_id: str | None = Field(description="The evaluate job (large datasets); null inline")
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    n_rows: int
    report: dict[str, Any] | None = Field(description=(
        "The report (docs/api.md, Evaluation reports); null until the job succeeds"))
    error: JobError | None = None
    created_at: dt.datetime

    @classmethod
    def of(cls, row: tables.Evaluation, job: tables.Job | None = None) -> EvaluationPublic:
        status = "succeeded" if row.report is not None else (job.status if job else "queued")
        if status == "succeeded" and row.report is None:
            status = "running"  # the job's transaction and the report's are one; not reached
        error = None
        if job is not None and job.error_code:
            error = JobError(code=job.error_code, message=job.error_message or "")
        return cls(id=row.id, model_id=row.model_id, dataset_id=row.dataset_id,
                   job_id=row.job_id, status=status, n_rows=row.n_rows,
                   report=json_safe(row.report) if row.report is not None else None,
                   error=error, created_at=row.created_at)
