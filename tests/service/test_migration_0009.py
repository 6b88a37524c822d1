"""Migration 0009: `predictions.ignored_columns` is added (null for the predictions there) and
dropped again by the downgrade."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from service import migration
from service.db import connect


def _has_ignored(db: object) -> bool:
    inspector = inspect(db.engine)  # type: ignore[attr-defined]
    return "ignored_columns" in {c["name"] for c in inspector.get_columns("predictions")}


def test_0009_adds_and_drops_prediction_ignored_columns(database_url: str) -> None:
    config = migration.alembic_config(database_url)
    command.upgrade(config, "0008")
    db = connect(database_url)
    try:
        assert not _has_ignored(db)
        command.upgrade(config, "0009")
        db.engine.dispose()
        assert _has_ignored(db)
        command.downgrade(config, "0008")
        db.engine.dispose()
        assert not _has_ignored(db)
    finally:
        db.dispose()
