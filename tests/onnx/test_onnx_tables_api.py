"""Acceptance (issue 10): a CSV with blanks (and text columns) uploaded, trained with the default
preprocessing, exported by ``GET /v1/models/{id}/onnx``: onnxruntime fed the raw columns (NaN
and ``""`` for blanks, an unseen category) equals ``POST /v1/models/{id}/predict`` on the same
records within 1e-5 — classification and regression, with and without categorical columns.
The app runs in process over a real (migrated) SQLite file; a worker step trains each model."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from api_helpers import auth, client_for
from table_rows import csv_bytes, feeds, rows

from service import queue
from service.db import Database, connect
from service.migration import upgrade
from worker.jobs import JobContext
from worker.runner import run_and_report


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'descent.db'}"
    upgrade(url)
    database = connect(url)
    yield database
    database.dispose()


def train(db: Database, client: Any, headers: dict[str, str], body: bytes, target: str) -> str:
    upload = client.post("/v1/datasets", files={"file": ("t.csv", body)},
                         data={"target": target}, headers=headers)
    assert upload.status_code == 201, upload.text
    job = client.post("/v1/jobs", json={"dataset_id": upload.json()["id"],
                                        "training": {"epochs": 15}}, headers=headers)
    assert job.status_code == 202, job.text
    claimed = queue.claim_next_job(db, worker_id=str(uuid.uuid4()), lease_seconds=60)
    assert claimed is not None
    assert run_and_report(JobContext(db=db, job=claimed, checkpoint_seconds=0.0)) == 0
    model_id = client.get(f"/v1/jobs/{job.json()['id']}", headers=headers).json()["model_id"]
    assert model_id
    return str(model_id)


@pytest.mark.slow
@pytest.mark.parametrize("categorical", [True, False], ids=["categorical", "numeric"])
@pytest.mark.parametrize("target", ["label", "value"], ids=["classification", "regression"])
def test_onnxruntime_on_raw_columns_equals_predict(sqlite_db: Database, categorical: bool,
                                                   target: str) -> None:
    client, headers = client_for(sqlite_db), auth(sqlite_db)
    model_id = train(sqlite_db, client, headers, csv_bytes(rows(240, 0, categorical), target),
                     target)
    model = client.get(f"/v1/models/{model_id}", headers=headers).json()
    kinds = {c["name"]: c["kind"] for c in model["columns"]}
    fresh = [{k: v for k, v in r.items() if k not in ("label", "value")}
             for r in rows(60, 1, categorical)]
    if categorical:
        fresh.append(dict(fresh[0], city="tokyo", shape=None))
    assert any(v is None for r in fresh for v in r.values())
    shuffled = [dict(reversed(list(r.items()))) for r in fresh]  # keys in another order

    answer = client.post(f"/v1/models/{model_id}/predict", json={"inputs": shuffled},
                         headers=headers)
    assert answer.status_code == 200, answer.text
    download = client.get(f"/v1/models/{model_id}/onnx", headers=headers)
    assert download.status_code == 200
    onnx.checker.check_model(onnx.load_from_string(download.content), full_check=True)
    session = ort.InferenceSession(download.content, providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == list(kinds)
    outputs = dict(zip([o.name for o in session.get_outputs()],
                       session.run(None, feeds(fresh, kinds)), strict=True))

    body = answer.json()
    if target == "label":
        np.testing.assert_allclose(outputs["output"], body["probabilities"], atol=1e-5,
                                   rtol=1e-5)
        assert outputs["label"].tolist() == body["predictions"]
    else:
        np.testing.assert_allclose(outputs["output"][:, 0], body["predictions"], atol=1e-5,
                                   rtol=1e-5)
