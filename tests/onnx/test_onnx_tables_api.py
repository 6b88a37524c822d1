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

from service import queue
from service.db import Database, connect
from service.migration import upgrade
from worker.jobs import JobContext
from worker.runner import run_and_report

CITIES = ["paris", "oslo", "lima"]


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'descent.db'}"
    upgrade(url)
    database = connect(url)
    yield database
    database.dispose()


def rows(n: int, seed: int, categorical: bool) -> list[dict[str, Any]]:
    """``size``/``weight`` numeric (blanks), ``city``/``shape`` categorical (``city`` blanks);
    targets ``label`` (text) and ``value`` (a number)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        size, weight, city = rng.normal(), rng.normal(), CITIES[i % 3]
        row: dict[str, Any] = {"size": None if i % 7 == 0 else round(size, 4),
                               "weight": None if i % 9 == 0 else round(weight, 4)}
        score = size + 0.5 * weight
        if categorical:
            row |= {"city": None if i % 11 == 0 else city, "shape": ["round", "square"][i % 2]}
            score += 1.5 if city == "paris" else -0.5
        row |= {"label": "big" if score > 0 else "small", "value": round(3 * score + 10, 4)}
        out.append(row)
    return out


def csv_bytes(table: list[dict[str, Any]], target: str) -> bytes:
    names = [k for k in table[0] if k not in ("label", "value")] + [target]
    lines = [",".join(names)]
    lines += [",".join("" if r[k] is None else str(r[k]) for k in names) for r in table]
    return ("\n".join(lines) + "\n").encode()


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


def feeds(records: list[dict[str, Any]], kinds: dict[str, str]) -> dict[str, np.ndarray]:
    return {name: (np.array([[np.nan if r[name] is None else r[name]] for r in records])
                   if kind == "numeric" else
                   np.array([["" if r[name] is None else r[name]] for r in records], object))
            for name, kind in kinds.items()}


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
