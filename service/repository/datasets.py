"""Datasets of one tenant: find, create (deduplicated by content), list, delete; their stored
columns, in the row or in the artifact store (``service.artifact_store``)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer

from service import artifact_store, artifacts, tables
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
    parsed: Any, *, tenant_id: str, name: str | None, size_bytes: int,
    store: artifact_store.ArtifactStore | None = None,
) -> tables.Dataset:
    """The row of a parsed upload, its columns stored (the caller may let ``parsed`` go): in
    ``store`` when there is one — complete, under its final key, before the row exists — else
    in the row itself."""
    row = tables.Dataset(
        id=new_id("ds"), tenant_id=tenant_id, name=name, sha256=parsed.sha256,
        n_rows=parsed.n_rows, n_features=parsed.n_features, n_targets=parsed.n_targets,
        target_kind=parsed.target_kind if parsed.n_targets else None,
        classes=list(parsed.classes) if parsed.classes is not None else None,
        feature_names=list(parsed.feature_names) if parsed.feature_names else None,
        target_names=list(parsed.target_names) if parsed.target_names else None,
        columns=parsed.columns, task=parsed.task, size_bytes=size_bytes,
    )
    if store is None:
        row.content = parsed.encode()
        return row
    key = artifact_key(row.id)
    with store.scratch() as scratch:
        with open(scratch, "wb") as out:
            artifacts.write_table(parsed.table, parsed.y, out)
        row.artifact_sha256 = store.put_file(key, scratch)
    row.artifact = key
    return row


def artifact_key(dataset_id: str) -> str:
    return f"datasets/{dataset_id}.npz"


def insert_dataset(db: Database, row: tables.Dataset) -> tuple[tables.Dataset, bool]:
    """Store ``row``; when the same content arrived concurrently, the row that won
    (created=False; ``row``'s artifact, if any, is removed)."""
    try:
        db.run_write(lambda session: session.add(row))
    except IntegrityError:
        _remove_artifact(db, row.artifact)
        existing = find_by_content(db, tenant_id=row.tenant_id, sha256=row.sha256)
        if existing is None:
            raise
        return existing, False
    except BaseException:
        _remove_artifact(db, row.artifact)
        raise
    return row, True


def _remove_artifact(db: Database, key: str | None) -> None:
    store = artifact_store.for_database(db.url) if key else None
    if store is not None and key:
        store.delete(key)


@contextlib.contextmanager
def _stored(db: Database | str | None, dataset: tables.Dataset) -> Any:
    if dataset.artifact is None:
        yield dataset.content
        return
    url = db.url if isinstance(db, Database) else db
    store = artifact_store.for_database(url) if url is not None else None
    if store is None:
        raise RuntimeError(f"dataset {dataset.id} is in an artifact store, and none is "
                           "configured (DESCENT_ARTIFACT_STORE)")
    local = store.local_path(dataset.artifact)
    if local is not None:
        yield local
    else:
        with store.open(dataset.artifact) as file:
            yield file


def read_columns(db: Database | None, dataset: tables.Dataset
                 ) -> tuple[Any, np.ndarray | None]:
    """The dataset's stored ``(Table, y)`` (``service.artifacts.decode_table``: numeric
    columns as float64), from its row or the artifact store of ``db``."""
    with _stored(db, dataset) as stored:
        return artifacts.decode_table(stored)


def read_targets(db: Database | str, dataset: tables.Dataset,
                 session: Session | None = None) -> np.ndarray | None:
    """Only the stored ``y`` (no feature columns are read); ``db`` is the database (or its
    URL, with an open ``session`` on it)."""
    if dataset.artifact is None:
        query = select(tables.Dataset.content).where(tables.Dataset.id == dataset.id)
        if session is not None:
            content = session.scalar(query)
        else:
            assert isinstance(db, Database)
            with db.read() as reading:
                content = reading.scalar(query)
        return None if content is None else artifacts.decode_targets(content)
    with _stored(db, dataset) as stored:
        return artifacts.decode_targets(stored)


def storage_used(session: Session, tenant_id: str) -> int:
    """Bytes the tenant's datasets (as uploaded) and chunked uploads in progress hold."""
    datasets = session.scalar(select(func.coalesce(func.sum(tables.Dataset.size_bytes), 0))
                              .where(tables.Dataset.tenant_id == tenant_id))
    uploads = session.scalar(select(func.coalesce(func.sum(tables.Upload.received_bytes), 0))
                             .where(tables.Upload.tenant_id == tenant_id))
    return int(datasets or 0) + int(uploads or 0)


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
    """Delete the dataset (409 while jobs use it) and then its artifact."""
    def write(session: Session) -> str | None:
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
        key = session.scalar(select(tables.Dataset.artifact)
                             .where(tables.Dataset.id == dataset_id))
        session.execute(
            tables.Dataset.__table__.delete().where(tables.Dataset.id == dataset_id)  # type: ignore[attr-defined]
        )
        return key

    # The row goes first, then its artifact: a reader never finds a row without its bytes (a
    # crash in between leaves an orphan file, which `orphans` finds).
    _remove_artifact(db, db.run_write(write))


def orphans(db: Database) -> list[str]:
    """Artifact keys under ``datasets/`` that no dataset row names (left by a crash between
    storing an artifact and inserting its row, or between deleting a row and its file)."""
    store = artifact_store.for_database(db.url)
    if store is None:
        return []
    keys = set(store.keys("datasets"))
    with db.read() as session:
        named = set(session.scalars(select(tables.Dataset.artifact)
                                    .where(tables.Dataset.artifact.is_not(None))))
    return sorted(keys - named)
