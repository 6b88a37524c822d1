"""Helpers for the API tests: an app over the `db` fixture, keys, fake models, row counts."""

from __future__ import annotations

import warnings
from typing import Any

from sqlalchemy import func, select

from service import artifacts, tables
from service.app import create_app
from service.db import Database
from service.ids import new_id
from service.keys import create_key
from service.settings import Settings
from worker.nn import Network

with warnings.catch_warnings():
    # Starlette suggests httpx2 for its TestClient; httpx is what we ship.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

COUNTED = (
    tables.Tenant, tables.ApiKey, tables.Dataset, tables.Job, tables.JobEpoch, tables.Model,
    tables.Prediction, tables.PredictionRow,
)


def client_for(db: Database, **settings: Any) -> TestClient:
    app = create_app(db=db, settings=Settings(database_url=db.url, **settings))
    app.state.events_poll_seconds = 0.05
    return TestClient(app, raise_server_exceptions=False)


def auth(db: Database, tenant: str = "acme") -> dict[str, str]:
    _, key = create_key(db, tenant=tenant)
    return {"Authorization": f"Bearer {key}"}


def row_counts(db: Database) -> dict[str, int]:
    with db.read() as session:
        return {
            t.__tablename__: int(session.scalar(select(func.count()).select_from(t)) or 0)
            for t in COUNTED
        }


XOR = {"name": "xor", "features": [[0, 0], [0, 1], [1, 0], [1, 1]] * 3,
       "targets": ["no", "yes", "yes", "no"] * 3}


def upload(client: TestClient, headers: dict[str, str], body: dict[str, Any] = XOR) -> str:
    response = client.post("/v1/datasets", json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    dataset_id: str = response.json()["id"]
    return dataset_id


def fake_model(db: Database, client: TestClient, headers: dict[str, str], dataset_id: str) -> str:
    """A succeeded train job and its model (random weights), without running a worker."""
    response = client.post("/v1/jobs", json={"dataset_id": dataset_id}, headers=headers)
    assert response.status_code == 202, response.text
    job = response.json()
    with db.read() as session:
        dataset = session.get(tables.Dataset, dataset_id)
        assert dataset is not None
    classes = dataset.classes
    n_outputs = len(classes) if classes else dataset.n_targets
    spec = job["spec"]
    net = Network.from_spec(
        spec["network"], dataset.n_features, n_outputs, task=spec["task"], seed=0
    )
    weights, sha = artifacts.encode_weights(net.params, None)
    model_id = new_id("mdl")
    with db.write() as session:
        row = session.get(tables.Job, job["id"])
        assert row is not None
        row.status, row.model_id = "succeeded", model_id
        row.started_at = row.finished_at = tables.utcnow()
        session.flush()
        session.add(
            tables.Model(
                id=model_id, tenant_id=row.tenant_id, job_id=row.id, dataset_id=dataset_id,
                task=spec["task"], spec=spec, n_features=dataset.n_features,
                n_targets=1 if classes else dataset.n_targets, classes=classes,
                metrics={"loss": 0.5}, epochs_trained=1, weights=weights, weights_sha256=sha,
            )
        )
    return model_id
