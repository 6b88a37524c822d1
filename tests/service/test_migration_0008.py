"""Migration 0008: `datasets.task` is added (null for the datasets there) and dropped again by
the downgrade."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from service import migration
from service.db import connect


def _has_task(db: object) -> bool:
    inspector = inspect(db.engine)  # type: ignore[attr-defined]
    return "task" in {c["name"] for c in inspector.get_columns("datasets")}


def test_0008_adds_and_drops_dataset_task(database_url: str) -> None:
    config = migration.alembic_config(database_url)
    command.upgrade(config, "0007")
    db = connect(database_url)
    try:
        assert not _has_task(db)
        command.upgrade(config, "0008")
        db.engine.dispose()
        assert _has_task(db)
        command.downgrade(config, "0007")
        db.engine.dispose()
        assert not _has_task(db)
    finally:
        db.dispose()
