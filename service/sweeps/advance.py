"""Keeping a sweep going: sample and queue its next trials, and end it when they are all done.

**Where sampling happens.** `advance` is the one place trials are made. It runs in one write
transaction that first locks the sweep's row (PostgreSQL ``SELECT … FOR UPDATE``; SQLite's
``BEGIN IMMEDIATE`` already serializes writers), reads every trial, and while fewer than
``parallelism`` are queued or running and fewer than ``max_trials`` were sampled, samples trial
number ``trials_sampled`` (Optuna, rebuilt from the rows: ``service.sweeps.study``), inserts
its train job and its trial row, and increments ``trials_sampled`` — all committed together or
not at all. Two processes advancing one sweep queue behind the lock, and the second sees the
first's trials; ``(sweep_id, number)`` is the trial's primary key besides. A process killed
mid-way rolls back and the trial is sampled again, with the same seed, by the next `advance`.

**Who calls it.** The API when it creates a sweep (its first ``parallelism`` trials); every
worker's supervisor when one of its jobs ends and every few seconds as a safety net
(`advance_all`: the sweeps that have room for a trial, or none active and none left to sample),
so a sweep goes on whichever process died. Trials are ordinary train jobs: claimed, leased,
retried and reaped by the queue like any other, so a trial whose worker was killed resumes from
its checkpoint — it is never sampled or run twice.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Table, and_, func, insert, or_, select, update
from sqlalchemy.orm import Session

from service import tables
from service.db import Database
from service.errors import InvalidInput
from service.ids import new_id
from service.queue._sql import clock
from service.queue.notify import notify_workers
from service.queue.submit import NewJob, job_row
from service.settings import Settings
from service.sweeps import config as configs
from service.sweeps.specs import targets_for, trial_spec
from service.sweeps.study import TrialRecord, sample
from service.sweeps.trials import ACTIVE, load_trials

log = logging.getLogger("descent.sweeps")

# Trials one `advance` may make that fail at once (their dataset deleted, a value the spec
# refuses): such a trial frees its slot at once, and sampling one rebuilds the study from every
# trial, so sampling all a big sweep has left in one write transaction held the database's write
# lock for minutes (1,000 TPE trials: ~80 s). The workers' next pass (`wanting`) goes on.
FAILED_PER_ADVANCE = 8

sweeps: Table = tables.Sweep.__table__  # type: ignore[assignment]
jobs: Table = tables.Job.__table__  # type: ignore[assignment]
trial_rows: Table = tables.SweepTrial.__table__  # type: ignore[assignment]


def lock_sweep(session: Session, db: Database, sweep_id: str) -> tables.Sweep | None:
    query = select(tables.Sweep).where(tables.Sweep.id == sweep_id)
    if db.is_postgres:
        query = query.with_for_update()
    return session.scalar(query)


def advance(db: Database, *, sweep_id: str, settings: Settings) -> str | None:
    """Queue the sweep's next trials, or end it; returns its status (None: no such sweep)."""
    import optuna  # noqa: F401  (imported before the lock: the first import takes a second)

    return db.run_write(lambda session: advance_in(session, db, sweep_id=sweep_id,
                                                   settings=settings))


def advance_in(session: Session, db: Database, *, sweep_id: str, settings: Settings) -> str | None:
    """`advance` in the caller's transaction (the API creates a sweep and its first trials in
    one)."""
    sweep = lock_sweep(session, db, sweep_id)
    if sweep is None:
        return None
    if sweep.status != "running":
        return sweep.status
    config = configs.load(sweep.config)
    trials = load_trials(session, sweep_id=sweep_id, metric=config.metric.name)
    records = [t.record() for t in trials]
    active = sum(t.status in ACTIVE for t in trials)
    sampled = sweep.trials_sampled
    c = clock(db)
    made = failed = 0
    if active < config.parallelism and sampled < config.max_trials:
        dataset = session.get(tables.Dataset, config.dataset_id)
        targets = None if dataset is None else targets_for(session, config, dataset)
        while (active < config.parallelism and sampled < config.max_trials
               and failed < FAILED_PER_ADVANCE):
            params = sample(config, records, sampled, name=sweep.id)
            queued = _insert_trial(session, c, sweep, config, sampled, params, dataset,
                                   settings, targets)
            records.append(_record(sampled, params, queued))
            active += queued
            failed += not queued
            sampled += 1
            made += 1
    values: dict[str, Any] = {"trials_sampled": sampled}
    status = "running"
    if sampled >= config.max_trials and active == 0:
        succeeded = any(t.status == "succeeded" for t in trials)
        status = "succeeded" if succeeded else "failed"
        values.update(status=status, finished_at=c.now())
    session.execute(update(sweeps).where(sweeps.c.id == sweep_id).values(**values))
    if made:
        notify_workers(db, session)
    return status


def _record(number: int, params: dict[str, Any], queued: bool) -> TrialRecord:
    return TrialRecord(number, params, "running" if queued else "failed")


def _insert_trial(session: Session, c: Any, sweep: tables.Sweep, config: configs.SweepCreate,
                  number: int, params: dict[str, Any], dataset: tables.Dataset | None,
                  settings: Settings, targets: Any) -> bool:
    """The trial's job (queued; or failed at once when its spec is not a valid job: the
    dataset deleted, a value the spec refuses) and its row. True when queued."""
    error = None
    spec: dict[str, Any] = {}
    if dataset is None:
        error = f"dataset {config.dataset_id} was deleted"
    else:
        try:
            spec = trial_spec(config, params, dataset=dataset, settings=settings,
                              targets=targets)
        except InvalidInput as exc:
            error = str(exc)
    job = NewJob(kind="train", dataset_id=config.dataset_id, spec=spec,
                 priority=spec.get("priority", 0), max_attempts=spec.get("max_attempts", 3),
                 progress_epochs=spec.get("training", {}).get("epochs"))
    row = job_row(c, sweep.tenant_id, job)
    row["sweep_id"] = sweep.id
    if error is not None:
        row.update(status="failed", error_code="INVALID_SPEC", error_message=error,
                   finished_at=c.now(), dataset_id=None if dataset is None else dataset.id)
    session.execute(insert(jobs).values(row))
    session.execute(insert(trial_rows).values(
        sweep_id=sweep.id, number=number, job_id=row["id"], params=params, pruned_epoch=None))
    return error is None


def wanting(db: Database) -> list[str]:
    """Running sweeps with room for a trial, or with none active and none left to sample."""
    active = (
        select(func.count()).select_from(jobs)
        .where(jobs.c.sweep_id == sweeps.c.id, jobs.c.status.in_(ACTIVE))
        .scalar_subquery()
    )
    limit = sweeps.c.config["max_trials"].as_integer()
    parallel = sweeps.c.config["parallelism"].as_integer()
    query = select(sweeps.c.id).where(
        sweeps.c.status == "running",
        or_(and_(sweeps.c.trials_sampled < limit, active < parallel),
            and_(sweeps.c.trials_sampled >= limit, active == 0)),
    )
    with db.read() as session:
        return [str(r) for r in session.scalars(query)]


def advance_all(db: Database, *, settings: Settings) -> int:
    """`advance` every sweep that wants it (the workers' safety net); returns how many."""
    ids = wanting(db)
    for sweep_id in ids:
        try:
            advance(db, sweep_id=sweep_id, settings=settings)
        except Exception:  # one sweep's trouble must not stop the others (or the worker)
            log.exception("sweep %s: advancing it failed; retrying at the next pass", sweep_id)
    return len(ids)


def new_sweep_row(*, tenant_id: str, config: configs.SweepCreate) -> tables.Sweep:
    return tables.Sweep(
        id=new_id("swp"), tenant_id=tenant_id, dataset_id=config.dataset_id,
        config=config.model_dump(mode="json", by_alias=True), status="running",
        trials_sampled=0, created_at=tables.utcnow(),
    )
