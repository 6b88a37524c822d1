"""Evaluations of one tenant's models: stored reports, and pending ones with their job."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select, update

from service import tables
from service.db import Database
from service.errors import NotFound
from service.ids import new_id
from service.repository import known_id, page

Row = tuple[tables.Evaluation, tables.Job | None]


def add(db: Database, *, tenant_id: str, model_id: str, dataset_id: str, n_rows: int,
        report: dict[str, Any] | None) -> tables.Evaluation:
    """Insert an evaluation: with its ``report`` (inline), or pending one (``report`` None)."""
    row = tables.Evaluation(id=new_id("eval"), tenant_id=tenant_id, model_id=model_id,
                            dataset_id=dataset_id, n_rows=n_rows, report=report,
                            created_at=tables.utcnow())
    db.run_write(lambda session: session.add(row))
    return row


def attach_job(db: Database, evaluation: tables.Evaluation, job_id: str | None) -> None:
    """Link a pending evaluation to its job, or drop it (``job_id`` None: not queued)."""
    table = tables.Evaluation
    if job_id is None:
        db.run_write(lambda s: s.execute(delete(table).where(table.id == evaluation.id)))
        return
    db.run_write(lambda s: s.execute(
        update(table).where(table.id == evaluation.id).values(job_id=job_id)))
    evaluation.job_id = job_id


def _with_jobs(session: Any, rows: Sequence[tables.Evaluation]) -> list[Row]:
    ids = [r.job_id for r in rows if r.job_id]
    found = {j.id: j for j in session.scalars(
        select(tables.Job).where(tables.Job.id.in_(ids)))} if ids else {}
    return [(r, found.get(r.job_id) if r.job_id else None) for r in rows]


def read(db: Database, *, tenant_id: str, evaluation_id: str) -> Row:
    known_id(evaluation_id, "eval", "evaluation")
    with db.read() as session:
        row = session.scalar(select(tables.Evaluation).where(
            tables.Evaluation.id == evaluation_id, tables.Evaluation.tenant_id == tenant_id))
        if row is None:
            raise NotFound(f"There is no evaluation {evaluation_id!r}.")
        return _with_jobs(session, [row])[0]


def list_for_model(db: Database, *, tenant_id: str, model_id: str, limit: int,
                   cursor: str | None) -> tuple[list[Row], str | None]:
    query = select(tables.Evaluation).where(tables.Evaluation.tenant_id == tenant_id,
                                            tables.Evaluation.model_id == model_id)
    with db.read() as session:
        rows, next_cursor = page(session, query, tables.Evaluation.id, limit=limit,
                                 cursor=cursor)
        return _with_jobs(session, rows), next_cursor
