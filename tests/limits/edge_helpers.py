"""What the HTTP-edge attacks share: a second tenant's key, a queued job, the database's rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from service import tables
from service.db import Database, connect
from service.keys import create_key, revoke_key
from tests.system.served import Served

MB = 1024 * 1024
XOR = {"features": [[0, 0], [0, 1], [1, 0], [1, 1]] * 3, "targets": [0, 1, 1, 0] * 3}


def database(tmp: Path) -> Database:
    """The served instance's own SQLite file (`serve(tmp, …)` puts it there)."""
    return connect(f"sqlite:///{tmp / 'descent.db'}")


def new_key(tmp: Path, tenant: str) -> tuple[str, dict[str, str]]:
    """``(key_id, headers)`` of a fresh key for ``tenant``."""
    db = database(tmp)
    try:
        key_id, key = create_key(db, tenant=tenant)
    finally:
        db.dispose()
    return key_id, {"Authorization": f"Bearer {key}"}


def revoke(tmp: Path, key_id: str) -> None:
    db = database(tmp)
    try:
        assert revoke_key(db, key_id=key_id)
    finally:
        db.dispose()


def row_counts(tmp: Path) -> dict[str, int]:
    counted = (tables.Dataset, tables.Job, tables.JobEpoch, tables.Model, tables.Prediction)
    db = database(tmp)
    try:
        with db.read() as session:
            return {
                t.__tablename__: int(session.scalar(select(func.count()).select_from(t)) or 0)
                for t in counted
            }
    finally:
        db.dispose()


def queued_job(served: Served, headers: dict[str, str] | None = None) -> str:
    """A job that stays queued (the served instance has no workers): its stream stays open."""
    headers = headers or served.headers
    dataset = httpx.post(f"{served.url}/v1/datasets", json=XOR, headers=headers, timeout=30)
    assert dataset.status_code in (200, 201), dataset.text
    job = httpx.post(f"{served.url}/v1/jobs", json={"dataset_id": dataset.json()["id"]},
                     headers=headers, timeout=30)
    assert job.status_code == 202, job.text
    job_id: str = job.json()["id"]
    return job_id


def problem(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/problem+json", response.text
    body: dict[str, Any] = response.json()
    return body
