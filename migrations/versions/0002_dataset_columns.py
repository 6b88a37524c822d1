"""Datasets keep their raw columns and a column schema; predictions are written in chunks.

- ``datasets.columns``: the feature columns' schema (name, kind, missing count, categories);
  every stored dataset is rewritten from format 1 (one float64 matrix ``X``) to format 2 (its
  raw columns: ``num``, the column list in ``meta``), see ``service.artifacts``.
- ``predictions.complete``: false while a prediction's rows are being written in chunks.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 20  # datasets rewritten per round trip (each is decoded and re-encoded in memory)


def _format_2(content: bytes, names: list[str] | None) -> tuple[bytes, list[dict[str, Any]]]:
    """Format 1 bytes → format 2 bytes and the column schema (written out here rather than
    imported, so this migration keeps meaning what it meant when it was written)."""
    with np.load(io.BytesIO(content), allow_pickle=False) as npz:
        if "meta" in npz.files:  # already format 2
            meta = json.loads(npz["meta"].tobytes().decode())
            return content, [{"name": c["name"], "kind": c["kind"], "missing": 0,
                              "categories": None} for c in meta["columns"]]
        X = npz["X"]
        y = npz["y"] if "y" in npz.files else None
    names = names or [f"x{j}" for j in range(X.shape[1])]
    meta = {"format": 2, "columns": [{"name": n, "kind": "numeric", "index": j}
                                     for j, n in enumerate(names)]}
    arrays = {"num": X, "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}
    if y is not None:
        arrays["y"] = y
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    schema = [{"name": n, "kind": "numeric", "missing": 0, "categories": None} for n in names]
    return buffer.getvalue(), schema


def upgrade() -> None:
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("columns", sa.JSON(), nullable=True))
    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("complete", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    datasets = sa.table(
        "datasets", sa.column("id", sa.String), sa.column("content", sa.LargeBinary),
        sa.column("feature_names", sa.JSON), sa.column("columns", sa.JSON),
    )
    bind = op.get_bind()
    after = ""
    while True:
        rows = bind.execute(
            sa.select(datasets.c.id, datasets.c.content, datasets.c.feature_names)
            .where(datasets.c.id > after, datasets.c.columns.is_(None))
            .order_by(datasets.c.id).limit(BATCH)
        ).all()
        if not rows:
            break
        for dataset_id, content, names in rows:
            if content:  # (an empty blob is a placeholder row: nothing to convert)
                content, schema = _format_2(bytes(content), names)
                bind.execute(sa.update(datasets).where(datasets.c.id == dataset_id)
                             .values(content=content, columns=schema))
            after = dataset_id


def _format_1(content: bytes) -> bytes:
    with np.load(io.BytesIO(content), allow_pickle=False) as npz:
        if "meta" not in npz.files:
            return content
        arrays = {"X": npz["num"]}
        if "y" in npz.files:
            arrays["y"] = npz["y"]
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def downgrade() -> None:
    datasets = sa.table("datasets", sa.column("id", sa.String),
                        sa.column("content", sa.LargeBinary))
    bind = op.get_bind()
    for dataset_id, content in bind.execute(sa.select(datasets.c.id, datasets.c.content)).all():
        if content:
            bind.execute(sa.update(datasets).where(datasets.c.id == dataset_id)
                         .values(content=_format_1(bytes(content))))
    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.drop_column("complete")
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.drop_column("columns")
