"""Migration 0012: models gain ``name``, ``description``, ``tags`` and ``parent_model_id`` (null
for the models there) and the ``model_aliases`` table appears; the downgrade drops them."""

from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from service import migration
from service.db import connect

ADDED = {"name", "description", "tags", "parent_model_id"}


def _schema(db: object) -> tuple[set[str], bool]:
    inspector = inspect(db.engine)  # type: ignore[attr-defined]
    columns = {c["name"] for c in inspector.get_columns("models")}
    return columns & ADDED, "model_aliases" in inspector.get_table_names()


def test_0012_adds_and_drops_model_names_and_aliases(database_url: str) -> None:
    config = migration.alembic_config(database_url)
    before = ScriptDirectory.from_config(config).get_revision("0012").down_revision
    assert isinstance(before, str)
    command.upgrade(config, before)
    db = connect(database_url)
    try:
        assert _schema(db) == (set(), False)
        command.upgrade(config, "0012")
        db.engine.dispose()
        assert _schema(db) == (ADDED, True)
        command.downgrade(config, before)
        db.engine.dispose()
        assert _schema(db) == (set(), False)
    finally:
        db.dispose()
