"""Migration 0005: `best_epoch` on jobs and models, null for rows written before, and the
downgrade gives 0004's schema back."""

from __future__ import annotations

import datetime as dt

from alembic import command
from sqlalchemy import inspect, text

from service import migration
from service.db import connect


def test_0005_adds_best_epoch_and_downgrades(database_url: str) -> None:
    config = migration.alembic_config(database_url)
    command.upgrade(config, "0004")
    db = connect(database_url)
    now = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    try:
        with db.write() as session:
            conn = session.connection()
            conn.execute(text("INSERT INTO tenants (id, name, created_at) VALUES ('t', 't', :at)"),
                         {"at": now})
            conn.execute(text(
                "INSERT INTO jobs (id, tenant_id, kind, status, spec, priority, run_after,"
                " attempts, max_attempts, cancel_requested, progress_epoch, created_at)"
                " VALUES ('j', 't', 'train', 'succeeded', '{}', 0, :now, 1, 3, false, 5, :now)"),
                {"now": now})
        command.upgrade(config, "0005")
        with db.read() as session:
            assert session.execute(text("SELECT best_epoch FROM jobs")).scalar_one() is None
        for table in ("jobs", "models"):
            assert "best_epoch" in {c["name"] for c in inspect(db.engine).get_columns(table)}
        command.downgrade(config, "0004")
        db.engine.dispose()
        for table in ("jobs", "models"):
            assert "best_epoch" not in {c["name"] for c in inspect(db.engine).get_columns(table)}
    finally:
        db.dispose()
