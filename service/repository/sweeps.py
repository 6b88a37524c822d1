"""Sweeps of one tenant: create (checked, with its first trials), read, list, trials, cancel."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table, case, select, update
from sqlalchemy.orm import Session

from service import tables
from service.db import Database
from service.errors import Conflict, NotFound
from service.queue._sql import clock, drop_checkpoints
from service.repository import page
from service.repository.datasets import get_dataset
from service.settings import Settings
from service.sweeps import advance
from service.sweeps import config as configs
from service.sweeps.specs import check_sweep, targets_for
from service.sweeps.trials import Trial, load_trials

jobs: Table = tables.Job.__table__  # type: ignore[assignment]
sweeps: Table = tables.Sweep.__table__  # type: ignore[assignment]


def get_sweep(session: Session, *, tenant_id: str, sweep_id: str) -> tables.Sweep:
    row = session.scalar(select(tables.Sweep).where(
        tables.Sweep.id == sweep_id, tables.Sweep.tenant_id == tenant_id))
    if row is None:
        raise NotFound(f"There is no sweep {sweep_id!r}.")
    return row


def create(db: Database, *, settings: Settings, tenant_id: str,
           config: configs.SweepCreate) -> tables.Sweep:
    """Check the sweep against its dataset (`check_sweep`), then store it and queue its first
    ``parallelism`` trials in one transaction."""
    import optuna  # noqa: F401  (before the write lock: its first import takes a second)

    with db.read() as session:
        dataset = get_dataset(session, tenant_id=tenant_id, dataset_id=config.dataset_id)
        check_sweep(config, dataset=dataset, settings=settings,
                    targets=targets_for(session, config, dataset))
    sweep = advance.new_sweep_row(tenant_id=tenant_id, config=config)

    def write(session: Session) -> tables.Sweep:
        session.add(sweep)
        session.flush()
        advance.advance_in(session, db, sweep_id=sweep.id, settings=settings)
        return sweep

    db.run_write(write)
    return read_sweep(db, tenant_id=tenant_id, sweep_id=sweep.id)[0]


def read_sweep(db: Database, *, tenant_id: str,
               sweep_id: str) -> tuple[tables.Sweep, list[Trial]]:
    """The sweep and its trials."""
    with db.read() as session:
        sweep = get_sweep(session, tenant_id=tenant_id, sweep_id=sweep_id)
        metric = configs.load(sweep.config).metric.name
        return sweep, load_trials(session, sweep_id=sweep_id, metric=metric)


def list_sweeps(db: Database, *, tenant_id: str, status: str | None, limit: int,
                cursor: str | None) -> tuple[Sequence[tables.Sweep], str | None]:
    query = select(tables.Sweep).where(tables.Sweep.tenant_id == tenant_id)
    if status:
        query = query.where(tables.Sweep.status == status)
    with db.read() as session:
        return page(session, query, tables.Sweep.id, limit=limit, cursor=cursor)


def cancel(db: Database, *, tenant_id: str, sweep_id: str) -> tables.Sweep:
    """End a running sweep: no trial is sampled after this, its queued trials are cancelled at
    once and its running ones asked to stop (as ``POST /v1/jobs/{id}/cancel`` does); 409 when
    it has finished."""

    def write(session: Session) -> None:
        sweep = advance.lock_sweep(session, db, sweep_id)
        if sweep is None or sweep.tenant_id != tenant_id:
            raise NotFound(f"There is no sweep {sweep_id!r}.")
        if sweep.status != "running":
            raise Conflict(f"Sweep {sweep_id!r} has already finished ({sweep.status}).")
        c = clock(db)
        session.execute(update(sweeps).where(
            tables.Sweep.id == sweep_id).values(status="cancelled", finished_at=c.now()))
        mine = (jobs.c.sweep_id == sweep_id) & jobs.c.status.in_(("queued", "running"))
        queued_ids = list(session.scalars(select(jobs.c.id).where(
            mine, jobs.c.status == "queued")))
        queued = jobs.c.status == "queued"
        session.execute(update(jobs).where(mine).values(
            status=case((queued, "cancelled"), else_=jobs.c.status),
            finished_at=case((queued, c.now()), else_=jobs.c.finished_at),
            cancel_requested=True,
        ))
        drop_checkpoints(session, queued_ids)

    db.run_write(write)
    return read_sweep(db, tenant_id=tenant_id, sweep_id=sweep_id)[0]
