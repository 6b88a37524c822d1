"""What every queue statement shares: the table, the lease guard, the clock, the backoff."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Executable,
    Insert,
    Interval,
    Table,
    and_,
    case,
    delete,
    func,
    literal,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service import tables
from service.db import Database
from service.queue import backoff

jobs: Table = tables.Job.__table__  # type: ignore[assignment]
checkpoints: Table = tables.Checkpoint.__table__  # type: ignore[assignment]

# What a job's lease columns become when it stops running.
LEASE_CLEARED: dict[str, Any] = {"lease_owner": None, "lease_token": None, "lease_expires_at": None}


def lease_guard(job_id: str, lease_token: str) -> ColumnElement[bool]:
    """The condition of every write after a claim: still ours, still running."""
    return and_(jobs.c.id == job_id, jobs.c.lease_token == lease_token, jobs.c.status == "running")


def drop_checkpoints(session: Session, job_ids: Collection[str]) -> None:
    """Delete the checkpoints of jobs that just ended (succeeded, failed or cancelled: none will
    resume), in the transaction that ended them."""
    if job_ids:
        session.execute(delete(checkpoints).where(checkpoints.c.job_id.in_(list(job_ids))))


def timestamp(value: dt.datetime) -> ColumnElement[dt.datetime]:
    return literal(value, tables.UTCDateTime())


@dataclass(frozen=True)
class Clock:
    """ "Now" for one statement: PostgreSQL's clock (many machines agree on it) or, on SQLite
    (one host), a Python time taken once, inside the transaction, after the write lock."""

    fixed: dt.datetime | None

    def now(self) -> ColumnElement[dt.datetime]:
        return func.now() if self.fixed is None else timestamp(self.fixed)

    def after(self, seconds: float) -> ColumnElement[dt.datetime]:
        delta = dt.timedelta(seconds=seconds)
        if self.fixed is None:
            return func.now() + literal(delta, Interval())
        return timestamp(self.fixed + delta)

    def retry_at(self) -> ColumnElement[dt.datetime]:
        """Now plus the backoff for the row's ``attempts`` (jitter drawn once per statement)."""
        steps = backoff.steps()
        return case(
            {n: self.after(seconds) for n, seconds in enumerate(steps)},
            value=jobs.c.attempts,
            else_=self.after(steps[-1]),
        )


def clock(db: Database, now: dt.datetime | None = None) -> Clock:
    if now is None and not db.is_postgres:
        now = tables.utcnow()
    return Clock(now)


def upsert(
    db: Database,
    table: Any,
    values: dict[str, Any],
    *,
    key: list[str] | None = None,
    update: list[str] | None = None,
) -> Insert:
    """INSERT ``values``; on a conflict on ``key``, overwrite the ``update`` columns (or, with no
    ``update``, insert nothing). The same statement on both dialects."""
    # The two dialects' INSERTs spell ON CONFLICT alike.
    insert = postgresql.insert if db.is_postgres else sqlite.insert
    stmt = insert(table).values(**values)
    if key is None:
        return stmt
    if update is None:
        return stmt.on_conflict_do_nothing(index_elements=key)
    return stmt.on_conflict_do_update(
        index_elements=key, set_={name: stmt.excluded[name] for name in update}
    )


def rowcount(session: Session, stmt: Executable) -> int:
    """Rows an UPDATE or DELETE matched."""
    result = cast(CursorResult[Any], session.execute(stmt))
    return int(result.rowcount)
