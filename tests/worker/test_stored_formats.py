"""Datasets are stored as they came and still train as before: an `.npz` of `uint8` pixels is
kept `uint8` in the artifact store, read as float64 by the worker, and trains to the weights
the engine gives on the same numbers; datasets stored in the formats before (2: deflated
float64 columns in the row; 1: one float64 matrix) still train to those weights."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import numpy as np
import pytest
from worker_helpers import (
    CLASSES,
    insert_dataset,
    job_row,
    model_of,
    reference_params,
    train_spec,
)

from service import artifact_store, artifacts, queue
from service.datasets import parse_npz
from service.db import Database
from service.queue import ClaimedJob
from service.repository import datasets as dataset_store
from worker.jobs import JobContext
from worker.runner import run_and_report

EPOCHS = 3


def claim(db: Database) -> ClaimedJob:
    job = queue.claim_next_job(db, worker_id=str(uuid.uuid4()), lease_seconds=60)
    assert job is not None
    return job


def train(db: Database, tenant: str, dataset_id: str, **training: Any) -> Any:
    spec = train_spec(dataset_id, epochs=EPOCHS, **training)
    job, _ = queue.enqueue(db, tenant_id=tenant, kind="train", dataset_id=dataset_id,
                           spec=spec, progress_epochs=EPOCHS)
    assert run_and_report(JobContext(db=db, job=claim(db), checkpoint_seconds=0.0)) == 0
    row = job_row(db, job.id)
    assert row.status == "succeeded", row.error_message
    return spec, model_of(db, row)


def pixels(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, (240, 12), dtype=np.uint8)
    y = (X[:, 0].astype(int) + X[:, 1] > 255).astype(int) + (X[:, 2] > 200)
    return X, y


def test_uint8_stays_uint8_until_training_and_trains_like_float64(db: Database,
                                                                  tenant: str) -> None:
    X, y = pixels()
    buffer = io.BytesIO()
    np.savez(buffer, X=X, y=np.array(CLASSES)[y])
    parsed = parse_npz(buffer.getvalue())
    store = artifact_store.for_database(db.url)
    row = dataset_store.new_dataset(parsed, tenant_id=tenant, name="pixels",
                                    size_bytes=len(buffer.getvalue()), store=store)
    row, created = dataset_store.insert_dataset(db, row)
    assert created
    stored = row.content if store is None else store.local_path(row.artifact or "")
    assert stored is not None and artifacts.stored_dtype(stored) == "uint8"

    for dtype in ("float64", "float32"):
        spec, model = train(db, tenant, row.id, dtype=dtype)
        params, _ = artifacts.decode_weights(model.weights)
        assert {p.dtype for p in params} == {np.dtype(dtype)}  # the job's training dtype
        expected, _ = reference_params(spec, X.astype(np.float64), y)
        assert all(np.array_equal(p, q) for p, q in zip(params, expected, strict=True))


def _format_2(X: np.ndarray, y: np.ndarray) -> bytes:
    """A dataset as stored before format 3: deflated, ``num`` float64, meta format 2."""
    meta = {"format": 2, "columns": [{"name": f"x{j}", "kind": "numeric", "index": j}
                                     for j in range(X.shape[1])]}
    return artifacts.npz_bytes({"num": X.astype(np.float64), "y": y,
                                "meta": np.frombuffer(json.dumps(meta).encode(), np.uint8)})


def _format_1(X: np.ndarray, y: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, X=X.astype(np.float64), y=y)
    return buffer.getvalue()


@pytest.mark.parametrize("old", [_format_2, _format_1])
def test_datasets_stored_in_older_formats_still_train(db: Database, tenant: str,
                                                      old: Any) -> None:
    X, y = pixels(seed=1)
    dataset_id = insert_dataset(db, tenant, X.astype(np.float64), y, content=old(X, y))
    spec, model = train(db, tenant, dataset_id)
    params, _ = artifacts.decode_weights(model.weights)
    expected, _ = reference_params(spec, X.astype(np.float64), y)
    assert all(np.array_equal(p, q) for p, q in zip(params, expected, strict=True))
