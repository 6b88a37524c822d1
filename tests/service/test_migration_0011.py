"""Migration 0011: the `sweeps` and `sweep_trials` tables and `jobs.sweep_id` are added (the jobs
there are no sweep's trials) and dropped again by the downgrade."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from service import migration
from service.db import connect


def _schema(db: object) -> tuple[set[str], set[str]]:
    inspector = inspect(db.engine)  # type: ignore[attr-defined]
    return set(inspector.get_table_names()), {c["name"] for c in inspector.get_columns("jobs")}


def test_0011_adds_and_drops_sweeps(database_url: str) -> None:
    config = migration.alembic_config(database_url)
    command.upgrade(config, "0010")
    db = connect(database_url)
    try:
        tables, columns = _schema(db)
        assert "sweeps" not in tables and "sweep_id" not in columns
        command.upgrade(config, "0011")
        db.engine.dispose()
        tables, columns = _schema(db)
        assert {"sweeps", "sweep_trials"} <= tables and "sweep_id" in columns
        command.downgrade(config, "0010")
        db.engine.dispose()
        tables, columns = _schema(db)
        assert "sweeps" not in tables and "sweep_trials" not in tables
        assert "sweep_id" not in columns
    finally:
        db.dispose()
