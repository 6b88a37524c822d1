"""Early termination of a sweep's trial, decided in its own training process after each epoch.

After every epoch the trial's curve so far (the sweep's metric by epoch) and the other trials'
curves (their ``job_epochs`` rows) are handed to the sweep's Optuna pruner (``service.sweeps.
study.should_prune``). When it says stop, the engine stops after that epoch, the trial row
records ``pruned_epoch`` and the job then succeeds as usual with the weights it has: a pruned
trial is a flag on the trial (its status reads ``pruned``), not a new job status.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from service import tables
from service.db import Database

if TYPE_CHECKING:  # imported when a trial has a rule: a train job that is none pays nothing
    from service.sweeps.config import SweepCreate


@dataclass
class TrialPruner:
    db: Database
    sweep_id: str
    job_id: str
    number: int
    config: SweepCreate
    curve: dict[int, float] = field(default_factory=dict)
    pruned_epoch: int | None = None
    # job id → the curve of a trial that ended (read once).
    ended_curves: dict[str, dict[int, float]] = field(default_factory=dict)

    @classmethod
    def for_job(cls, db: Database, job_id: str) -> TrialPruner | None:
        """The pruner of a trial whose sweep has an early-termination rule, else None."""
        with db.read() as session:
            row = session.execute(
                select(tables.SweepTrial.sweep_id, tables.SweepTrial.number,
                       tables.Sweep.config)
                .join(tables.Sweep, tables.Sweep.id == tables.SweepTrial.sweep_id)
                .where(tables.SweepTrial.job_id == job_id)
            ).first()
            if row is None or row.config.get("early_termination") is None:
                return None
            from service.sweeps.config import load
            from service.sweeps.trials import curves

            config = load(row.config)
            mine = curves(session, job_ids=[job_id], metric=config.metric.name)[job_id]
        return cls(db=db, sweep_id=row.sweep_id, job_id=job_id, number=row.number,
                   config=config, curve=mine)

    def on_epoch(self, epoch: int, row: dict[str, Any]) -> None:
        """Decide after ``epoch`` (its engine row); sets ``pruned_epoch`` when it stops."""
        from service.sweeps.study import TrialRecord, should_prune
        from service.sweeps.trials import curves, load_trials

        value = row.get(self.config.metric.name)
        if isinstance(value, int | float) and math.isfinite(value):
            self.curve[epoch] = float(value)
        if self.pruned_epoch is not None or epoch not in self.curve:
            return
        with self.db.read() as session:
            trials = load_trials(session, sweep_id=self.sweep_id,
                                 metric=self.config.metric.name)
            ended = [t.job_id for t in trials if t.status in ("succeeded", "pruned")
                     and t.job_id not in self.ended_curves]  # an ended trial's curve is final
            self.ended_curves.update(curves(session, job_ids=ended,
                                            metric=self.config.metric.name))
        others = [t.record(self.ended_curves.get(t.job_id)) for t in trials
                  if t.number != self.number]
        current = TrialRecord(self.number, next(
            (t.params for t in trials if t.number == self.number), {}), "running", None,
            dict(self.curve))
        if should_prune(self.config, others, current, name=self.sweep_id):
            self.pruned_epoch = epoch

    def record(self) -> None:
        """Mark the trial pruned (before its job succeeds: a crash in between resumes the job,
        which is pruned again at once)."""
        with self.db.write() as session:
            session.execute(update(tables.SweepTrial).where(
                tables.SweepTrial.job_id == self.job_id).values(pruned_epoch=self.pruned_epoch))
