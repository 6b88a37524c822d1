"""Datasets of one tenant: find, create (deduplicated by content), list, delete."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer

from service import tables
from service.db import Database
from service.errors import Conflict, NotFound
from service.ids import new_id
from service.repository import known_id, page

ACTIVE = ("queued", "running")


def get_dataset(
    session: Session, *, tenant_id: str, dataset_id: str, with_content: bool = False
) -> tables.Dataset:
    known_id(dataset_id, "ds", "dataset")
    query = select(tables.Dataset).where(
        tables.Dataset.id == dataset_id, tables.Dataset.tenant_id == tenant_id
    )
    if not with_content:
        query = query.options(defer(tables.Dataset.content, raiseload=True))
    row = session.scalar(query)
    if row is None:
        raise NotFound(f"There is no dataset {dataset_id!r}.")
    return row


def list_datasets(
    db: Database, *, tenant_id: str, limit: int, cursor: str | None
) -> tuple[Sequence[tables.Dataset], str | None]:
    query = (
        select(tables.Dataset)
        .where(tables.Dataset.tenant_id == tenant_id)
        .options(defer(tables.Dataset.content, raiseload=True))
    )
    with db.read() as session:
        return page(session, query, tables.Dataset.id, limit=limit, cursor=cursor)


def _by_sha(session: Session, tenant_id: str, sha256: str) -> tables.Dataset | None:
    return session.scalar(
        select(tables.Dataset)
        .where(tables.Dataset.tenant_id == tenant_id, tables.Dataset.sha256 == sha256)
        .options(defer(tables.Dataset.content, raiseload=True))
    )


def find_by_content(db: Database, *, tenant_id: str, sha256: str) -> tables.Dataset | None:
    """The tenant's dataset with this content hash (uploads are deduplicated by it)."""
    with db.read() as session:
        return _by_sha(session, tenant_id, sha256)


def new_dataset(
    parsed: Any, *, tenant_id: str, name: str | None, size_bytes: int
) -> tables.Dataset:
    """The row of a parsed upload, its content encoded (the caller may let ``parsed`` go)."""
    return tables.Dataset(
        id=new_id("ds"), tenant_id=tenant_id, name=name, sha256=parsed.sha256,
        n_rows=parsed.n_rows, n_features=parsed.n_features, n_targets=parsed.n_targets,
        target_kind=parsed.target_kind if parsed.n_targets else None,
        classes=list(parsed.classes) if parsed.classes is not None else None,
        feature_names=list(parsed.feature_names) if parsed.feature_names else None,
        target_names=list(parsed.target_names) if parsed.target_names else None,
        columns=parsed.columns, task=parsed.task, size_bytes=size_bytes, content=parsed.encode(),
    )


def insert_dataset(db: Database, row: tables.Dataset) -> tuple[tables.Dataset, bool]:
    """Store ``row``; when the same content arrived concurrently, the row that won
    (created=False)."""
    try:
        db.run_write(lambda session: session.add(row))
    except IntegrityError:
        existing = find_by_content(db, tenant_id=row.tenant_id, sha256=row.sha256)
        if existing is None:
            raise
        return existing, False
    return row, True


def create_dataset(
    db: Database, *, tenant_id: str, parsed: Any, name: str | None, size_bytes: int
) -> tuple[tables.Dataset, bool]:
    """Store a parsed upload; the same content again gives the existing row (created=False)."""
    existing = find_by_content(db, tenant_id=tenant_id, sha256=parsed.sha256)
    if existing is not None:
        return existing, False
    return insert_dataset(db, new_dataset(parsed, tenant_id=tenant_id, name=name,
                                          size_bytes=size_bytes))


def delete_dataset(db: Database, *, tenant_id: str, dataset_id: str) -> None:
    def write(session: Session) -> None:
        get_dataset(session, tenant_id=tenant_id, dataset_id=dataset_id)
        # PostgreSQL: lock the row first. A job being inserted holds a key-share lock on it
        # (its foreign key), so we wait for that job and then count it; a job inserted after
        # us waits for our delete and fails its foreign key (404). SQLite's write lock already
        # serializes the two.
        session.execute(
            select(tables.Dataset.id).where(tables.Dataset.id == dataset_id).with_for_update()
        )
        active = session.scalar(
            select(func.count()).where(
                tables.Job.dataset_id == dataset_id, tables.Job.status.in_(ACTIVE)
            )
        )
        if active:
            raise Conflict(
                f"Dataset {dataset_id!r} is used by {active} queued or running job(s); "
                "cancel them or wait for them to finish."
            )
        session.execute(
            tables.Dataset.__table__.delete().where(tables.Dataset.id == dataset_id)  # type: ignore[attr-defined]
        )

    db.run_write(write)
