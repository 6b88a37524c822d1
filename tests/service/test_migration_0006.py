"""Migration 0006: `models.columns` is added (null for the models there: they take numbers by
position) and dropped again by the downgrade."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from service import migration
from service.db import connect


def test_0006_adds_and_drops_model_columns(database_url: str) -> None:
    config = migration.alembic_config(database_url)
    command.upgrade(config, "0005")
    db = connect(database_url)
    try:
        assert "columns" not in {c["name"] for c in inspect(db.engine).get_columns("models")}
        command.upgrade(config, "0006")
        db.engine.dispose()
        assert "columns" in {c["name"] for c in inspect(db.engine).get_columns("models")}
        command.downgrade(config, "0005")
        db.engine.dispose()
        assert "columns" not in {c["name"] for c in inspect(db.engine).get_columns("models")}
    finally:
        db.dispose()
