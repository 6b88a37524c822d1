"""Tenant-scoped reads and writes, as plain keyword-only functions (testable without HTTP).

Every query names the caller's tenant: another tenant's row is simply not found. Ids that do
not have the shape ``service.ids.new_id`` produces are not found either, without a query.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import Session

from service.errors import InvalidInput, NotFound, field_error
from service.ids import is_valid_id

T = TypeVar("T")


def known_id(value: str, prefix: str, what: str) -> str:
    """``value``, or ``NotFound`` (no query) when it is not shaped like a ``prefix`` id."""
    if not is_valid_id(value, prefix):
        raise NotFound(f"There is no {what} {value!r}.")
    return value


def check_cursor(cursor: str | None) -> None:
    """``InvalidInput`` naming ``cursor`` unless it is empty or an id (the last id of a page)."""
    if cursor and not is_valid_id(cursor):
        msg = "cursor is not one this API returned; pass the `next` of the previous page as is"
        raise InvalidInput(msg, errors=[field_error(["query", "cursor"], msg)])


def page(
    session: Session, query: Select[Any], id_column: Any, *, limit: int, cursor: str | None
) -> tuple[Sequence[Any], str | None]:
    """Newest first by id (ids are time-ordered); the cursor is the last id of the page."""
    check_cursor(cursor)
    if cursor:
        query = query.where(id_column < cursor)
    rows = session.scalars(query.order_by(id_column.desc()).limit(limit + 1)).all()
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, rows[-1].id
    return rows, None
