"""Migration 0007: `models.evaluation` and the `evaluations` table are added (null reports for
the models there) and dropped again by the downgrade."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from service import migration
from service.db import connect


def _shape(db: object) -> tuple[bool, bool]:
    inspector = inspect(db.engine)  # type: ignore[attr-defined]
    columns = {c["name"] for c in inspector.get_columns("models")}
    return "evaluation" in columns, "evaluations" in inspector.get_table_names()


def test_0007_adds_and_drops_evaluations(database_url: str) -> None:
    config = migration.alembic_config(database_url)
    command.upgrade(config, "0006")
    db = connect(database_url)
    try:
        assert _shape(db) == (False, False)
        command.upgrade(config, "0007")
        db.engine.dispose()
        assert _shape(db) == (True, True)
        command.downgrade(config, "0006")
        db.engine.dispose()
        assert _shape(db) == (False, False)
    finally:
        db.dispose()
