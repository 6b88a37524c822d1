"""Models of one tenant, and stored predictions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from service import tables
from service.db import Database
from service.errors import NotFound
from service.ids import is_valid_id, new_id
from service.repository import known_id, page


def find_model(
    db: Database, *, tenant_id: str, model_id: str, with_weights: bool = False
) -> tables.Model | None:
    if not is_valid_id(model_id, "mdl"):
        return None
    query = select(tables.Model).where(
        tables.Model.id == model_id, tables.Model.tenant_id == tenant_id
    )
    if not with_weights:
        query = query.options(defer(tables.Model.weights, raiseload=True))
    with db.read() as session:
        return session.scalar(query)


def get_model(session: Session, *, tenant_id: str, model_id: str) -> tables.Model:
    known_id(model_id, "mdl", "model")
    row = session.scalar(
        select(tables.Model)
        .where(tables.Model.id == model_id, tables.Model.tenant_id == tenant_id)
        .options(defer(tables.Model.weights, raiseload=True))
    )
    if row is None:
        raise NotFound(f"There is no model {model_id!r}.")
    return row


def read_model(
    db: Database, *, tenant_id: str, model_id: str, with_weights: bool = False
) -> tables.Model:
    row = find_model(db, tenant_id=tenant_id, model_id=model_id, with_weights=with_weights)
    if row is None:
        raise NotFound(f"There is no model {model_id!r}.")
    return row


def list_models(
    db: Database, *, tenant_id: str, limit: int, cursor: str | None
) -> tuple[Sequence[tables.Model], str | None]:
    query = (
        select(tables.Model)
        .where(tables.Model.tenant_id == tenant_id)
        .options(defer(tables.Model.weights, raiseload=True))
    )
    with db.read() as session:
        return page(session, query, tables.Model.id, limit=limit, cursor=cursor)


def store_prediction(
    db: Database,
    *,
    tenant_id: str,
    model_id: str,
    predictions: Sequence[Any],
    probabilities: Sequence[Sequence[float]] | None,
    job_id: str | None = None,
) -> str:
    prediction_id = new_id("pred")

    def write(session: Session) -> None:
        session.add(
            tables.Prediction(
                id=prediction_id, tenant_id=tenant_id, model_id=model_id, job_id=job_id,
                n_rows=len(predictions),
            )
        )
        session.flush()
        session.execute(
            tables.PredictionRow.__table__.insert(),  # type: ignore[attr-defined]
            [
                {
                    "prediction_id": prediction_id, "row": i, "prediction": p,
                    "probabilities": list(probabilities[i]) if probabilities is not None else None,
                }
                for i, p in enumerate(predictions)
            ],
        )

    db.run_write(write)
    return prediction_id


def read_prediction(
    db: Database, *, tenant_id: str, prediction_id: str, offset: int, limit: int
) -> tuple[tables.Prediction, Sequence[tables.PredictionRow]]:
    known_id(prediction_id, "pred", "prediction")
    with db.read() as session:
        head = session.scalar(
            select(tables.Prediction).where(
                tables.Prediction.id == prediction_id, tables.Prediction.tenant_id == tenant_id
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
    query = select(tables.Prediction).where(tables.Prediction.tenant_id == tenant_id)
    with db.read() as session:
        return page(session, query, tables.Prediction.id, limit=limit, cursor=cursor)

