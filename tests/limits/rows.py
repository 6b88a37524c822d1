"""Rows a resource-safety test puts straight into a served database: a model of any shape (random
weights) and its succeeded job, without training it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from service import artifacts, tables
from service.db import connect
from service.ids import new_id
from worker.nn import Network


def database_url(tmp: Path) -> str:
    """The SQLite database `tests.system.served.serve(tmp, …)` runs on."""
    return f"sqlite:///{tmp / 'descent.db'}"


def insert_model(url: str, *, n_features: int, hidden: list[dict[str, Any]], classes: list[Any],
                 dtype: str = "float32") -> str:
    """A classification model of the default tenant (the served bootstrap key's), with a
    dataset and a succeeded job to hang it on; returns the model's id."""
    db = connect(url)
    try:
        with db.read() as session:
            tenant_id = session.scalar(select(tables.Tenant.id).where(
                tables.Tenant.name == "default"))
        assert tenant_id is not None
        spec = {"task": "classification", "training": {"dtype": dtype},
                "network": {"hidden_layers": hidden, "output_activation": "softmax",
                            "loss": "cross_entropy", "init": "auto"}}
        net = Network.from_spec(spec["network"], n_features, len(classes), dtype=dtype,
                                task="classification")
        weights, sha = artifacts.encode_weights(net.params, None)
        dataset_id, job_id, model_id = new_id("ds"), new_id("job"), new_id("mdl")
        with db.write() as session:
            session.add(tables.Dataset(
                id=dataset_id, tenant_id=tenant_id, sha256=dataset_id.ljust(64, "0")[:64],
                n_rows=0, n_features=n_features, n_targets=1, target_kind="labels",
                classes=classes, size_bytes=0, content=b""))
            session.flush()
            now = tables.utcnow()
            session.add(tables.Job(
                id=job_id, tenant_id=tenant_id, kind="train", status="succeeded",
                dataset_id=dataset_id, model_id=model_id, spec=spec, attempts=1,
                created_at=now, started_at=now, finished_at=now))
            session.flush()
            session.add(tables.Model(
                id=model_id, tenant_id=tenant_id, job_id=job_id, dataset_id=dataset_id,
                task="classification", spec=spec, n_features=n_features, n_targets=1,
                classes=classes, metrics={}, epochs_trained=1, weights=weights,
                weights_sha256=sha))
        return model_id
    finally:
        db.dispose()


def count(url: str, table: Any) -> int:
    db = connect(url)
    try:
        with db.read() as session:
            return int(session.scalar(select(func.count()).select_from(table)) or 0)
    finally:
        db.dispose()
