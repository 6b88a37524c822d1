"""Migration 0010: datasets gain
`artifact` / `artifact_sha256` (their content may be null), and the `uploads` table appears;
the downgrade takes them away again."""

from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from service import migration
from service.db import connect


def _shape(db: object) -> tuple[bool, bool, bool]:
    inspector = inspect(db.engine)  # type: ignore[attr-defined]
    columns = {c["name"]: c for c in inspector.get_columns("datasets")}
    return ("artifact" in columns, bool(columns["content"]["nullable"]),
            "uploads" in inspector.get_table_names())


def test_0010_adds_and_drops_the_artifact_columns_and_uploads(database_url: str) -> None:
    config = migration.alembic_config(database_url)
    before = ScriptDirectory.from_config(config).get_revision("0010").down_revision
    assert isinstance(before, str)
    command.upgrade(config, before)
    db = connect(database_url)
    try:
        assert _shape(db) == (False, False, False)
        command.upgrade(config, "0010")
        db.engine.dispose()
        assert _shape(db) == (True, True, True)
        command.downgrade(config, before)
        db.engine.dispose()
        assert _shape(db) == (False, False, False)
    finally:
        db.dispose()
