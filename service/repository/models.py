"""Models of one tenant, and stored predictions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, String, cast, delete, exists, func, literal, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session, defer

from service import tables
from service.db import Database
from service.errors import Conflict, NotFound
from service.ids import is_valid_id
from service.named_models.tables import ModelAlias
from service.repository import known_id, page

ACTIVE = ("queued", "running")


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
    db: Database, *, tenant_id: str, limit: int, cursor: str | None, name: str | None = None,
    tag: str | None = None,
) -> tuple[Sequence[tables.Model], str | None]:
    """A page of the tenant's models (only those of ``name`` and with ``tag`` when given)."""
    if any(v is not None and "\x00" in v for v in (name, tag)):
        return [], None  # no name or tag holds NUL (PostgreSQL could not even compare it)
    query = (
        select(tables.Model)
        .where(tables.Model.tenant_id == tenant_id)
        .options(defer(tables.Model.weights, raiseload=True))
    )
    if name is not None:
        query = query.where(tables.Model.name == name)
    if tag is not None:
        query = query.where(_has_tag(db, tag))
    with db.read() as session:
        return page(session, query, tables.Model.id, limit=limit, cursor=cursor)


def _has_tag(db: Database, tag: str) -> ColumnElement[bool]:
    """``tag`` is one of the model's tags (a JSON array: PostgreSQL's ``@>``, SQLite's
    ``json_each``)."""
    if db.is_postgres:
        return cast(tables.Model.tags, JSONB).contains([tag])
    each = func.json_each(tables.Model.tags).table_valued("value")
    return exists(select(literal(1)).select_from(each).where(each.c.value == tag))


def update_model(db: Database, *, tenant_id: str, model_id: str,
                 changes: dict[str, Any]) -> tables.Model:
    """Set the given ``name``, ``description`` and ``tags`` (the others stay as they are)."""

    def write(session: Session) -> tables.Model:
        row = get_model(session, tenant_id=tenant_id, model_id=model_id)
        for field, value in changes.items():
            setattr(row, field, value)
        return row

    return db.run_write(write)


def delete_model(db: Database, *, tenant_id: str, model_id: str) -> None:
    """Delete a model with its stored predictions and evaluations; ``Conflict`` while an alias
    names it or a queued or running job needs it (a batch prediction, an evaluation, or a
    train job fine-tuning from it). Finished jobs keep its id (``GET`` it: 404)."""

    def write(session: Session) -> None:
        get_model(session, tenant_id=tenant_id, model_id=model_id)
        # PostgreSQL: lock the row first. An alias being set holds a key-share lock on it (its
        # foreign key), so we wait for it and then see it; one set after us waits for our delete
        # and fails its foreign key (404). SQLite's write lock already serializes the two.
        session.execute(
            select(tables.Model.id).where(tables.Model.id == model_id).with_for_update())
        aliases = session.scalars(
            select(ModelAlias.alias).where(ModelAlias.model_id == model_id)
            .order_by(ModelAlias.alias)).all()
        if aliases:
            named = ", ".join(repr(a) for a in aliases[:20]) + (
                f" and {len(aliases) - 20} more" if len(aliases) > 20 else "")
            raise Conflict(f"Model {model_id!r} is named by the alias(es) {named}; move or "
                           "delete them first.")
        active = _active_jobs_using(session, tenant_id=tenant_id, model_id=model_id)
        if active:
            raise Conflict(f"Model {model_id!r} is used by {active} queued or running job(s); "
                           "cancel them or wait for them to finish.")
        predictions = select(tables.Prediction.id).where(tables.Prediction.model_id == model_id)
        for statement in (
            delete(tables.PredictionRow).where(tables.PredictionRow.prediction_id.in_(predictions)),
            delete(tables.Prediction).where(tables.Prediction.model_id == model_id),
            delete(tables.Evaluation).where(tables.Evaluation.model_id == model_id),
            delete(tables.Model).where(tables.Model.id == model_id),
        ):
            session.execute(statement)

    db.run_write(write)


def _active_jobs_using(session: Session, *, tenant_id: str, model_id: str) -> int:
    """Queued or running jobs that read the model: predict and evaluate jobs name it in
    ``model_id``; a fine-tuning train job in its spec (``training.init_from_model``). Only the
    specs whose text holds the id are read (the same query on both databases), then looked at."""
    job = tables.Job
    rows = session.execute(
        select(job.kind, job.model_id, job.spec).where(
            job.tenant_id == tenant_id, job.status.in_(ACTIVE),
            or_(job.model_id == model_id, cast(job.spec, String).contains(model_id)))).all()
    return sum(1 for kind, used, spec in rows
               if used == model_id or (kind == "train" and init_from(spec) == model_id))


def init_from(spec: dict[str, Any] | None) -> str | None:
    """The model a train job's spec fine-tunes (``training.init_from_model``), or None."""
    training = (spec or {}).get("training") or {}
    parent = training.get("init_from_model")
    return parent if isinstance(parent, str) else None
