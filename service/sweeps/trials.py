"""A sweep's trials as stored: each trial row with its job, as the API shows it and as Optuna
is told about it (`service.sweeps.study.TrialRecord`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import tables
from service.sweeps.config import SweepCreate
from service.sweeps.study import TrialRecord

ACTIVE = ("queued", "running")
# A trial's status: its job's, except that a job that succeeded after early termination
# stopped it is `pruned` (the job itself says succeeded: it did produce a model).
TRIAL_STATUSES = ("queued", "running", "succeeded", "pruned", "failed", "cancelled")


@dataclass(frozen=True)
class Trial:
    number: int
    params: dict[str, Any]
    job_id: str
    status: str
    value: float | None
    epochs: int
    model_id: str | None
    pruned_epoch: int | None
    metrics: dict[str, Any] | None

    def record(self, curve: dict[int, float] | None = None) -> TrialRecord:
        state = {"queued": "running", "running": "running", "succeeded": "complete",
                 "pruned": "pruned"}.get(self.status, "failed")
        return TrialRecord(self.number, self.params, state, self.value, curve or {})


def _value(metrics: dict[str, Any] | None, name: str) -> float | None:
    value = (metrics or {}).get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def load_trials(session: Session, *, sweep_id: str, metric: str) -> list[Trial]:
    """Every trial of the sweep, by number."""
    t, j = tables.SweepTrial, tables.Job
    rows = session.execute(
        select(t.number, t.params, t.job_id, t.pruned_epoch, j.status, j.metrics,
               j.progress_epoch, j.model_id)
        .join(j, j.id == t.job_id)
        .where(t.sweep_id == sweep_id)
        .order_by(t.number)
    ).all()
    out = []
    for number, params, job_id, pruned_epoch, status, metrics, epoch, model_id in rows:
        if status == "succeeded" and pruned_epoch is not None:
            status = "pruned"
        out.append(Trial(number=number, params=params, job_id=job_id, status=status,
                         value=_value(metrics, metric), epochs=epoch or 0, model_id=model_id,
                         pruned_epoch=pruned_epoch, metrics=metrics))
    return out


def curves(session: Session, *, job_ids: Sequence[str], metric: str) -> dict[str, dict[int, float]]:
    """Each job's metric by epoch (the pruner's intermediate values)."""
    out: dict[str, dict[int, float]] = {job_id: {} for job_id in job_ids}
    if not job_ids:
        return out
    rows = session.execute(
        select(tables.JobEpoch.job_id, tables.JobEpoch.epoch, tables.JobEpoch.metrics)
        .where(tables.JobEpoch.job_id.in_(list(job_ids)))
    ).all()
    for job_id, epoch, metrics in rows:
        value = _value(metrics, metric)
        if value is not None:
            out[job_id][int(epoch)] = value
    return out


def best(trials: Sequence[Trial], config: SweepCreate) -> Trial | None:
    """The succeeded (not pruned) trial with the best metric; the earliest among equals."""
    done = [t for t in trials if t.status == "succeeded" and t.value is not None]
    if not done:
        return None
    sign = 1.0 if config.metric.goal == "minimize" else -1.0
    return min(done, key=lambda t: (sign * (t.value or 0.0), t.number))
