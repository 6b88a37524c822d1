"""Tenant-scoped reads and writes, as plain keyword-only functions (testable without HTTP).

Every query names the caller's tenant: another tenant's row is simply not found.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import Session

T = TypeVar("T")


def page(
    session: Session, query: Select[Any], id_column: Any, *, limit: int, cursor: str | None
) -> tuple[Sequence[Any], str | None]:
    """Newest first by id (ids are time-ordered); the cursor is the last id of the page."""
    if cursor:
        query = query.where(id_column < cursor)
    rows = session.scalars(query.order_by(id_column.desc()).limit(limit + 1)).all()
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, rows[-1].id
    return rows, None
