"""What every job shares: its context, how it ends early, and loading its dataset."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from service import tables
from service.db import Database
from service.queue import ClaimedJob


class LeaseLost(Exception):
    """A write of this job matched no row: the lease is gone, so write nothing more."""


class Stopped(Exception):
    """The job was asked to stop (graceful shutdown) and has checkpointed what it could."""


class InvalidJob(ValueError):
    """The job cannot run on its data (a user error: failed at once, never retried)."""


@dataclass
class JobContext:
    db: Database
    job: ClaimedJob
    should_stop: Callable[[], bool] = lambda: False
    checkpoint_seconds: float = 10.0
    # (phase, wall-clock time, CPU time) as the job goes: the trace its process logs at the end.
    marks: list[tuple[str, float, float]] = field(default_factory=list)

    def mark(self, phase: str) -> None:
        self.marks.append((phase, time.time(), time.process_time()))


def load_dataset(db: Database, *, tenant_id: str, dataset_id: str) -> tables.Dataset:
    with db.read() as session:
        dataset = session.scalar(
            select(tables.Dataset).where(
                tables.Dataset.id == dataset_id, tables.Dataset.tenant_id == tenant_id
            )
        )
    if dataset is None:
        raise InvalidJob(f"dataset {dataset_id} does not exist (was it deleted?)")
    return dataset


def epoch_metrics(db: Database, *, job_id: str, epoch: int) -> dict[str, Any] | None:
    """The metrics of the job's history row for ``epoch`` (without its diagnostics), or None
    without one."""
    with db.read() as session:
        row = session.scalar(
            select(tables.JobEpoch.metrics)
            .where(tables.JobEpoch.job_id == job_id, tables.JobEpoch.epoch == epoch)
        )
    return None if row is None else {k: v for k, v in row.items() if k != "diagnostics"}
