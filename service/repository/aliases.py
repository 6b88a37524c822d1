"""A tenant's model aliases (``production`` → ``mdl_…``): set or move one in one statement,
read, list and delete them, and find the model an alias names for a prediction.

Moving an alias is a single upsert: a reader sees the old model or the new one, never neither,
and the predict path reads the alias on every request, so every API process follows a move at
once (the model cache is by model id and never needs invalidating for it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service import tables
from service.db import Database
from service.errors import Conflict, InvalidInput, NotFound, field_error
from service.ids import is_valid_id
from service.named_models.tables import ModelAlias
from service.queue._sql import rowcount, upsert
from service.repository.models import get_model

ALIAS_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
ALIAS_RULE = ("1 to 64 letters, digits, '.', '_' or '-', starting with a letter or a digit")
MAX_ALIASES = 1000  # per tenant: the list of them is one answer, not paginated


def known_alias(alias: str) -> str:
    """``alias``, or ``NotFound`` (no query) when it cannot be an alias."""
    if not ALIAS_PATTERN.fullmatch(alias):
        raise NotFound(f"There is no model alias {alias!r}.")
    return alias


def check_alias(alias: str) -> str:
    """``alias`` when it is a valid alias name; else ``InvalidInput`` at its path segment."""
    if not ALIAS_PATTERN.fullmatch(alias):
        msg = f"alias {alias[:80]!r} is not a valid alias: {ALIAS_RULE}"
        raise InvalidInput(msg, errors=[field_error(["path", "alias"], msg)])
    return alias


def set_alias(db: Database, *, tenant_id: str, alias: str,
              model_id: str) -> tuple[ModelAlias, bool]:
    """Point ``alias`` at ``model_id`` (a model of the tenant: else ``NotFound``), creating it
    or moving it; ``(row, created)``."""

    def write(session: Session) -> tuple[ModelAlias, bool]:
        get_model(session, tenant_id=tenant_id, model_id=model_id)
        existed = session.scalar(_query(tenant_id, alias)) is not None
        if not existed and _count(session, tenant_id) >= MAX_ALIASES:
            raise Conflict(f"You have {MAX_ALIASES:,} model aliases, the most a tenant may "
                           f"have; delete one (or move one) instead of creating {alias!r}.")
        now = tables.utcnow()
        session.execute(upsert(
            db, ModelAlias,
            {"tenant_id": tenant_id, "alias": alias, "model_id": model_id,
             "created_at": now, "updated_at": now},
            key=["tenant_id", "alias"], update=["model_id", "updated_at"]))
        row = session.scalar(_query(tenant_id, alias).execution_options(populate_existing=True))
        assert row is not None
        return row, not existed

    try:
        return db.run_write(write)
    except IntegrityError:  # PostgreSQL: the model was deleted while we pointed at it
        raise NotFound(f"There is no model {model_id!r}.") from None


_RESOLVE = "SELECT model_id FROM model_aliases WHERE tenant_id = {p} AND alias = {p}"


def resolve(db: Database, *, tenant_id: str, alias: str) -> str:
    """The id of the model ``alias`` names (``NotFound`` when the tenant has no such alias).

    On every predict by alias, so it skips the ORM as the key lookup does (``auth.find_key``):
    one pooled DBAPI connection, one SELECT by primary key."""
    known_alias(alias)
    p = "?" if db.engine.dialect.paramstyle == "qmark" else "%s"
    conn = db.engine.raw_connection()
    try:
        cursor = conn.cursor()
        cursor.execute(_RESOLVE.format(p=p), (tenant_id, alias))
        row = cursor.fetchone()
        cursor.close()
    finally:
        conn.close()  # back to the pool, which ends any transaction the SELECT opened
    if row is None:
        raise NotFound(f"There is no model alias {alias!r}.")
    return str(row[0])


def read_alias(db: Database, *, tenant_id: str, alias: str) -> ModelAlias:
    known_alias(alias)
    with db.read() as session:
        row = session.scalar(_query(tenant_id, alias))
    if row is None:
        raise NotFound(f"There is no model alias {alias!r}.")
    return row


def list_aliases(db: Database, *, tenant_id: str,
                 model_id: str | None = None) -> Sequence[ModelAlias]:
    """The tenant's aliases by name (only those naming ``model_id`` when given)."""
    if model_id is not None and not is_valid_id(model_id, "mdl"):
        return []  # not an id: names no model (and is never sent to the database)
    query = select(ModelAlias).where(ModelAlias.tenant_id == tenant_id)
    if model_id is not None:
        query = query.where(ModelAlias.model_id == model_id)
    with db.read() as session:
        return session.scalars(query.order_by(ModelAlias.alias)).all()


def delete_alias(db: Database, *, tenant_id: str, alias: str) -> None:
    known_alias(alias)

    def write(session: Session) -> int:
        return rowcount(session, delete(ModelAlias).where(
            ModelAlias.tenant_id == tenant_id, ModelAlias.alias == alias))

    if not db.run_write(write):
        raise NotFound(f"There is no model alias {alias!r}.")


def _count(session: Session, tenant_id: str) -> int:
    return int(session.scalar(select(func.count()).select_from(ModelAlias)
                              .where(ModelAlias.tenant_id == tenant_id)) or 0)


def _query(tenant_id: str, alias: str) -> Select[Any]:
    return select(ModelAlias).where(ModelAlias.tenant_id == tenant_id,
                                           ModelAlias.alias == alias)
