"""Shared fixtures: a fresh real database per test, SQLite and (when configured) PostgreSQL.

PostgreSQL tests read the server's URL from DESCENT_TEST_POSTGRES_URL (``.ci/run`` sets it) and
get a database of their own, created empty and dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from service.db import Database, connect, normalize_url

POSTGRES_URL = os.environ.get("DESCENT_TEST_POSTGRES_URL")
SKIP_POSTGRES = "PostgreSQL not configured: set DESCENT_TEST_POSTGRES_URL (.ci/run does)"


def _admin_url() -> str:
    assert POSTGRES_URL
    return normalize_url(POSTGRES_URL)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'descent.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """An empty PostgreSQL database of this test's own."""
    if not POSTGRES_URL:
        pytest.skip(SKIP_POSTGRES)
    name = f"descent_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = _admin_url().rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """An empty database URL, once for SQLite and once for PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def empty_db(database_url: str) -> Iterator[Database]:
    db = connect(database_url)
    yield db
    db.dispose()


# --- A migrated database and rows to hang jobs on (the queue's and the routes' tests) ---------


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """A Database migrated to head (via `service.migration.upgrade`), on SQLite and PostgreSQL."""
    from service.migration import upgrade

    upgrade(database_url)
    database = connect(database_url)
    yield database
    database.dispose()


@pytest.fixture
def tenant(db: Database) -> str:
    """A tenant's id (the tenant row exists in `db`)."""
    from service import tables
    from service.ids import new_id

    tenant_id = new_id("ten")
    with db.write() as session:
        session.add(tables.Tenant(id=tenant_id, name=f"tenant-{tenant_id}"))
    return tenant_id


@pytest.fixture
def dataset_row(db: Database, tenant: str) -> Callable[..., str]:
    """A factory: ``dataset_row(tenant_id=None, **fields)`` inserts a tiny Dataset row (empty
    content) and returns its id; jobs need one as their foreign-key target."""
    from service import tables
    from service.ids import new_id

    def make(tenant_id: str | None = None, **fields: Any) -> str:
        dataset_id = new_id("ds")
        values: dict[str, Any] = {
            "id": dataset_id,
            "tenant_id": tenant_id or tenant,
            "name": "tiny",
            "sha256": uuid.uuid4().hex * 2,
            "n_rows": 2,
            "n_features": 1,
            "n_targets": 1,
            "target_kind": "values",
            "size_bytes": 0,
            "content": b"",
            **fields,
        }
        with db.write() as session:
            session.add(tables.Dataset(**values))
        return dataset_id

    return make
