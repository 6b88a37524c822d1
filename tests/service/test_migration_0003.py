"""Migration 0003 on a database with jobs in it: `claimed_at` is filled from `started_at`, the
tenant indexes replace `ix_jobs_tenant_id`, and the downgrade gives 0002's schema back."""

from __future__ import annotations

import datetime as dt

from alembic import command
from sqlalchemy import inspect, text

from service import migration
from service.db import connect


def test_0003_upgrades_a_database_with_jobs_and_downgrades(database_url: str) -> None:
    config = migration.alembic_config(database_url)
    command.upgrade(config, "0002")
    db = connect(database_url)
    started = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    try:
        with db.write() as session:
            conn = session.connection()
            conn.execute(text("INSERT INTO tenants (id, name, created_at) VALUES ('t', 't', :at)"),
                         {"at": started})
            for job_id, at in (("j1", started), ("j2", None)):
                conn.execute(
                    text(
                        "INSERT INTO jobs (id, tenant_id, kind, status, spec, priority, run_after,"
                        " attempts, max_attempts, cancel_requested, progress_epoch, created_at,"
                        " started_at) VALUES (:id, 't', 'train', 'queued', '{}', 0, :now, 0, 3,"
                        " false, 0, :now, :at)"
                    ),
                    {"id": job_id, "now": started, "at": at},
                )
        command.upgrade(config, "0003")
        with db.read() as session:
            rows = dict(session.execute(text("SELECT id, claimed_at FROM jobs")).all())
        assert rows["j2"] is None and rows["j1"] is not None
        indexes = {index["name"] for index in inspect(db.engine).get_indexes("jobs")}
        assert {"ix_jobs_tenant_status", "ix_jobs_tenant_claimed"} <= indexes
        assert "ix_jobs_tenant_id" not in indexes

        command.downgrade(config, "0002")
        db.engine.dispose()
        columns = {column["name"] for column in inspect(db.engine).get_columns("jobs")}
        indexes = {index["name"] for index in inspect(db.engine).get_indexes("jobs")}
        assert "claimed_at" not in columns and "ix_jobs_tenant_id" in indexes
        assert not {"ix_jobs_tenant_status", "ix_jobs_tenant_claimed"} & indexes
    finally:
        db.dispose()
