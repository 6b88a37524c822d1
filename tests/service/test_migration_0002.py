"""Migration 0002 rewrites stored datasets into raw columns (format 2) with a column schema."""

from __future__ import annotations

import io
import json

import numpy as np
from alembic import command
from sqlalchemy import text

from service import migration
from service.artifacts import decode_table
from service.db import connect


def test_stored_datasets_are_rewritten_with_their_columns(database_url: str) -> None:
    config = migration.alembic_config(database_url)
    command.upgrade(config, "0001")
    X = np.arange(12, dtype=np.float64).reshape(4, 3)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, X=X, y=np.array([0, 1, 0, 1]))
    db = connect(database_url)
    try:
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO tenants (id, name, created_at) VALUES "
                              "('ten_1', 't', CURRENT_TIMESTAMP)"))
            conn.execute(text(
                "INSERT INTO datasets (id, tenant_id, sha256, n_rows, n_features, n_targets,"
                " target_kind, classes, feature_names, size_bytes, content, created_at) VALUES"
                " ('ds_1', 'ten_1', 'x', 4, 3, 1, 'labels', '[0, 1]', :names, 10, :content,"
                " CURRENT_TIMESTAMP)"), {"content": buffer.getvalue(), "names": '["a", "b", "c"]'})
        migration.upgrade(database_url)
        with db.engine.connect() as conn:
            content, columns = conn.execute(
                text("SELECT content, columns FROM datasets WHERE id = 'ds_1'")).one()
    finally:
        db.dispose()
    columns = columns if isinstance(columns, list) else json.loads(columns)
    assert [c["name"] for c in columns] == ["a", "b", "c"]
    assert all(c["kind"] == "numeric" and c["missing"] == 0 for c in columns)
    table, y = decode_table(bytes(content))
    assert table.names == ["a", "b", "c"]
    np.testing.assert_array_equal(table.matrix(), X)
    np.testing.assert_array_equal(y, [0, 1, 0, 1])
