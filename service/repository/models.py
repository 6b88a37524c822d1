"""Models of one tenant, and stored predictions."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from service import tables
from service.db import Database
from service.errors import NotFound
from service.ids import is_valid_id
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
