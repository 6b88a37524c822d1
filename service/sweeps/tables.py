"""A sweep and its trials (tables on ``service.tables``' metadata).

``jobs.sweep_id`` names the sweep a train job is a trial of; it has no foreign key, because a
column with one cannot be added to SQLite's jobs table without rebuilding it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from service.tables import Base, UTCDateTime, utcnow

SWEEP_STATUSES = ("running", "succeeded", "failed", "cancelled")


class Sweep(Base):
    """A hyperparameter search: its request (``config``) and how many trials it has sampled.

    ``trials_sampled`` only grows, under the sweep's row lock (``service.sweeps.advance``): it is
    the next trial's number, so no two processes sample the same trial."""

    __tablename__ = "sweeps"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    dataset_id: Mapped[str | None] = mapped_column(
        ForeignKey("datasets.id", ondelete="SET NULL"))
    # The request: base (a job spec), space, method, metric, max_trials, parallelism,
    # early_termination, seed (service.sweeps.config.SweepConfig).
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="running")
    trials_sampled: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class SweepTrial(Base):
    """One trial of a sweep: its number, the parameters sampled for it and its train job."""

    __tablename__ = "sweep_trials"

    sweep_id: Mapped[str] = mapped_column(
        ForeignKey("sweeps.id", ondelete="CASCADE"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), unique=True)
    # {dotted path: value}, as applied to the base spec.
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The epoch at which early termination stopped it (its job succeeded with the weights it
    # had then); null for a trial that was not pruned.
    pruned_epoch: Mapped[int | None] = mapped_column(Integer)
