"""Stored predictions: written in chunks of short transactions, read a page of rows at a time.

A prediction's rows are written ``ROWS_PER_WRITE`` at a time, each chunk its own transaction, so
no write holds SQLite's lock for long. On SQLite a writer also pauses after each chunk (``pace``):
SQLite has no queue for its lock, a waiting writer polls for it (every 100 ms once it has waited a
while), and back-to-back chunks would leave it no opening — another tenant's heartbeats and
uploads would starve. The head row is inserted first with ``complete`` false and marked complete
last: readers see a prediction only once every row is in.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from service import tables
from service.db import Database
from service.errors import NotFound
from service.ids import new_id
from service.repository import known_id, page

ROWS_PER_WRITE = 5000
PACE_SECONDS = 0.12  # a little more than SQLite's longest busy-handler sleep (100 ms)
rows_table: Table = tables.PredictionRow.__table__  # type: ignore[assignment]
heads: Table = tables.Prediction.__table__  # type: ignore[assignment]


@contextmanager
def pace(db: Database) -> Iterator[None]:
    """Around one chunk's write: on SQLite, afterwards, leave the lock free at least as long as
    the write held it (and ``PACE_SECONDS`` at least), so waiting writers get their turn."""
    started = time.monotonic()
    yield
    if db.is_sqlite:
        time.sleep(max(PACE_SECONDS, time.monotonic() - started))


def insert_rows(
    session: Session, prediction_id: str, start: int, predictions: Sequence[Any],
    probabilities: Sequence[Sequence[float]] | None,
) -> None:
    """Rows ``start, start + 1, …`` of a prediction, in one multi-row INSERT (the only place
    prediction rows are written)."""
    if not predictions:
        return
    session.execute(rows_table.insert(), [
        {"prediction_id": prediction_id, "row": start + i, "prediction": p,
         "probabilities": None if probabilities is None else _row(probabilities[i])}
        for i, p in enumerate(predictions)
    ])


def _row(probabilities: Any) -> Any:
    """One row's probabilities as stored: a list per class, or ``{label: p}`` (multilabel)."""
    return dict(probabilities) if isinstance(probabilities, dict) else list(probabilities)


def _write_chunk(
    session: Session, *, prediction_id: str, start: int, predictions: Sequence[Any],
    probabilities: Sequence[Sequence[float]] | None,
) -> None:
    stop = start + ROWS_PER_WRITE
    insert_rows(session, prediction_id, start, predictions[start:stop],
                None if probabilities is None else probabilities[start:stop])


def store_prediction(
    db: Database,
    *,
    tenant_id: str,
    model_id: str,
    predictions: Sequence[Any],
    probabilities: Sequence[Sequence[float]] | None,
    job_id: str | None = None,
    ignored_columns: list[str] | None = None,
) -> str:
    """Store an online prediction (chunked, see the module docstring); returns its id."""
    prediction_id = new_id("pred")
    db.run_write(lambda session: session.execute(heads.insert().values(
        id=prediction_id, tenant_id=tenant_id, model_id=model_id, job_id=job_id,
        n_rows=len(predictions), ignored_columns=ignored_columns, complete=False,
        created_at=tables.utcnow())))
    for start in range(0, len(predictions), ROWS_PER_WRITE):
        with pace(db):
            db.run_write(partial(_write_chunk, prediction_id=prediction_id, start=start,
                                 predictions=predictions, probabilities=probabilities))
    db.run_write(lambda session: session.execute(
        update(heads).where(heads.c.id == prediction_id).values(complete=True)))
    return prediction_id


def read_prediction(
    db: Database, *, tenant_id: str, prediction_id: str, offset: int, limit: int
) -> tuple[tables.Prediction, Sequence[tables.PredictionRow]]:
    known_id(prediction_id, "pred", "prediction")
    with db.read() as session:
        head = session.scalar(
            select(tables.Prediction).where(
                tables.Prediction.id == prediction_id, tables.Prediction.tenant_id == tenant_id,
                tables.Prediction.complete.is_(True),
            )
        )
        if head is None:
            raise NotFound(f"There is no prediction {prediction_id!r}.")
        rows = session.scalars(
            select(tables.PredictionRow)
            .where(
                tables.PredictionRow.prediction_id == prediction_id,
                tables.PredictionRow.row >= offset,
            )
            .order_by(tables.PredictionRow.row)
            .limit(limit)
        ).all()
        return head, rows


def list_predictions(
    db: Database, *, tenant_id: str, limit: int, cursor: str | None
) -> tuple[Sequence[tables.Prediction], str | None]:
    query = select(tables.Prediction).where(tables.Prediction.tenant_id == tenant_id,
                                            tables.Prediction.complete.is_(True))
    with db.read() as session:
        return page(session, query, tables.Prediction.id, limit=limit, cursor=cursor)
