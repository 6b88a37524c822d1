"""Migration 0004 (`job_attempts`) on a database with jobs in it: the table arrives empty (old
attempts were never recorded), works with the code's queue, and the downgrade removes it."""

from __future__ import annotations

import datetime as dt

from alembic import command
from sqlalchemy import inspect, text

from service import migration, queue
from service.db import connect


def test_0004_adds_job_attempts_and_downgrades(database_url: str) -> None:
    config = migration.alembic_config(database_url)
    command.upgrade(config, "0003")
    db = connect(database_url)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    try:
        with db.write() as session:
            conn = session.connection()
            conn.execute(text("INSERT INTO tenants (id, name, created_at) VALUES ('t', 't', :at)"),
                         {"at": now})
            conn.execute(
                text(
                    "INSERT INTO jobs (id, tenant_id, kind, status, spec, priority, run_after,"
                    " attempts, max_attempts, cancel_requested, progress_epoch, created_at)"
                    " VALUES ('j1', 't', 'train', 'queued', '{}', 0, :now, 0, 3, false, 0, :now)"
                ),
                {"now": now},
            )
        command.upgrade(config, "0004")
        assert migration.current_revision(db) == "0004"
        with db.read() as session:
            assert session.execute(text("SELECT count(*) FROM job_attempts")).scalar() == 0
        claimed = queue.claim_next_job(db, worker_id="w", lease_seconds=30)
        assert claimed is not None and claimed.id == "j1"
        assert queue.finish(db, job_id="j1", lease_token=claimed.lease_token)
        with db.read() as session:
            rows = session.execute(text("SELECT attempt, outcome FROM job_attempts")).all()
        assert [tuple(r) for r in rows] == [(1, "succeeded")]

        command.downgrade(config, "0003")
        db.engine.dispose()
        assert "job_attempts" not in inspect(db.engine).get_table_names()
    finally:
        db.dispose()
