"""Sweep responses: the sweep with its counts and best trial, and its trials."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from service import tables
from service.schemas.common import json_safe
from service.sweeps import config as configs
from service.sweeps.trials import TRIAL_STATUSES, Trial, best


class TrialPublic(BaseModel):
    number: int = Field(description="0, 1, … in the order the trials were sampled")
    job_id: str
    status: Literal["queued", "running", "succeeded", "pruned", "failed", "cancelled"] = Field(
        description="The job's status, except `pruned`: early termination stopped it (its job "
        "succeeded with the weights it had)")
    params: dict[str, Any] = Field(description="Dotted path → the value this trial used")
    value: float | None = Field(description="The sweep's metric: the model's (best epoch's) "
                                            "once the job succeeded, the latest epoch's before")
    epochs: int = Field(description="Epochs trained so far")
    pruned_epoch: int | None
    model_id: str | None
    metrics: dict[str, float | None] | None

    @classmethod
    def of(cls, trial: Trial) -> TrialPublic:
        metrics = json_safe(trial.metrics) if trial.metrics else None
        if metrics:
            metrics.pop("warnings", None)
        return cls(number=trial.number, job_id=trial.job_id, status=trial.status,
                   params=trial.params, value=trial.value, epochs=trial.epochs,
                   pruned_epoch=trial.pruned_epoch, model_id=trial.model_id, metrics=metrics)


class TrialsPublic(BaseModel):
    data: list[TrialPublic]


class SweepPublic(BaseModel):
    id: str = Field(examples=["swp_01JD4X0Q2ZK3N5V7W9Y1A3C5E7"])
    status: Literal["running", "succeeded", "failed", "cancelled"]
    dataset_id: str | None
    method: str
    metric: dict[str, str]
    max_trials: int
    parallelism: int
    trials_sampled: int
    counts: dict[str, int] = Field(description="Trials by status (every status, zeros too)")
    epochs_trained: int = Field(description="Epochs trained over every trial")
    best: TrialPublic | None = Field(description="The succeeded trial with the best metric "
                                                 "(pruned trials are not candidates)")
    config: dict[str, Any] = Field(description="The request, defaults filled in")
    created_at: dt.datetime
    finished_at: dt.datetime | None

    @classmethod
    def of(cls, sweep: tables.Sweep, trials: list[Trial]) -> SweepPublic:
        config = configs.load(sweep.config)
        counts = dict.fromkeys(TRIAL_STATUSES, 0)
        for trial in trials:
            counts[trial.status] += 1
        top = best(trials, config)
        return cls(
            id=sweep.id, status=sweep.status, dataset_id=sweep.dataset_id,
            method=config.method, metric=config.metric.model_dump(),
            max_trials=config.max_trials, parallelism=config.parallelism,
            trials_sampled=sweep.trials_sampled, counts=counts,
            epochs_trained=sum(t.epochs for t in trials),
            best=None if top is None else TrialPublic.of(top), config=sweep.config,
            created_at=sweep.created_at, finished_at=sweep.finished_at,
        )
