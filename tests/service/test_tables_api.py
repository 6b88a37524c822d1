"""Tables through the API (SQLite and PostgreSQL): a CSV with text columns and blanks uploaded,
trained with the default preprocessing, predicted by name and in batch; refusals name the row
and column and leave the database as it was."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pytest
from api_helpers import auth, client_for, row_counts

from service import queue, tables
from service.db import Database
from worker.jobs import JobContext
from worker.runner import run_and_report

COLORS = ["red", "green", "blue"]


def table_csv(n: int = 240, seed: int = 0) -> bytes:
    """``size`` (numeric, blanks), ``color`` (categorical, blanks), ``shape`` (categorical),
    ``weight`` (numeric), target ``label`` = big when size + (color == red) is large."""
    rng = np.random.default_rng(seed)
    lines = ["size,color,shape,weight,label"]
    for i in range(n):
        size, color = rng.normal(), COLORS[i % 3]
        label = "big" if size + (1.5 if color == "red" else -0.5) > 0 else "small"
        cells = ["" if i % 11 == 0 else f"{size:.4f}", "" if i % 13 == 0 else color,
                 ["round", "square"][i % 2], f"{rng.normal():.4f}", label]
        lines.append(",".join(cells))
    return ("\n".join(lines) + "\n").encode()


def run_next_job(db: Database) -> None:
    job = queue.claim_next_job(db, worker_id=str(uuid.uuid4()), lease_seconds=60)
    assert job is not None
    assert run_and_report(JobContext(db=db, job=job, checkpoint_seconds=0.0)) == 0


def trained(db: Database, client: Any, headers: dict[str, str]) -> tuple[str, str]:
    upload = client.post("/v1/datasets", files={"file": ("t.csv", table_csv())},
                         data={"target": "label"}, headers=headers)
    assert upload.status_code == 201, upload.text
    dataset = upload.json()
    assert [(c["name"], c["kind"]) for c in dataset["columns"]] == [
        ("size", "numeric"), ("color", "categorical"), ("shape", "categorical"),
        ("weight", "numeric")]
    assert dataset["columns"][1]["missing"] > 0 and dataset["columns"][1]["categories"] == 3
    job = client.post("/v1/jobs", json={"dataset_id": dataset["id"],
                                        "training": {"epochs": 30}}, headers=headers)
    assert job.status_code == 202, job.text
    assert job.json()["spec"]["preprocessing"]["numeric_imputation"] == "mean"
    run_next_job(db)
    model_id = client.get(f"/v1/jobs/{job.json()['id']}", headers=headers).json()["model_id"]
    assert model_id
    return dataset["id"], model_id


def test_predict_by_name_and_in_batch(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    dataset_id, model_id = trained(db, client, headers)
    model = client.get(f"/v1/models/{model_id}", headers=headers).json()
    assert model["columns"][1] == {"name": "color", "kind": "categorical",
                                   "categories": ["blue", "green", "red"]}
    records = [
        {"weight": 0.1, "shape": "round", "color": "red", "size": 1.0, "note": "x"},
        {"size": None, "color": None, "shape": "square", "weight": None},
        {"color": "purple", "size": -2.0, "shape": "hexagon", "weight": 0.0, "id": 7},
    ]
    answer = client.post(f"/v1/models/{model_id}/predict", json={"inputs": records},
                         headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["ignored_columns"] == ["note", "id"]
    assert body["predictions"][0] == "big" and body["predictions"][2] == "small"
    rows = [[1.0, "red", "round", 0.1], [None, None, "square", None],
            [-2.0, "purple", "hexagon", 0.0]]
    positional = client.post(f"/v1/models/{model_id}/predict", json={"inputs": rows},
                             headers=headers).json()
    assert positional["probabilities"] == body["probabilities"]
    assert "ignored_columns" not in positional

    batch = client.post(f"/v1/models/{model_id}/batch-predictions",
                        json={"dataset_id": dataset_id}, headers=headers)
    assert batch.status_code == 202, batch.text
    run_next_job(db)
    job = client.get(f"/v1/jobs/{batch.json()['id']}", headers=headers).json()
    assert job["status"] == "succeeded", job
    stored = client.get(f"/v1/predictions/{job['prediction_id']}", headers=headers).json()
    lines = [line.split(",") for line in table_csv().decode().split("\n")[1:-1]]
    accuracy = np.mean([p == line[-1] for p, line in zip(stored["predictions"], lines,
                                                          strict=True)])
    assert accuracy > 0.8
    # The same rows by name through /predict: the same pipeline, the same outputs.
    names = ["size", "color", "shape", "weight"]
    records = [{n: (None if not c else float(c) if n in ("size", "weight") else c)
                for n, c in zip(names, line[:4], strict=True)} for line in lines[:40]]
    online = client.post(f"/v1/models/{model_id}/predict", json={"inputs": records},
                         headers=headers).json()
    np.testing.assert_allclose(online["probabilities"], stored["probabilities"][:40],
                               rtol=1e-6, atol=1e-7)


def test_refusals_name_row_and_column_and_change_nothing(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    _, model_id = trained(db, client, headers)
    before = row_counts(db)
    lacking = client.post(f"/v1/models/{model_id}/predict", headers=headers, json={
        "inputs": [{"size": 1.0, "color": "red", "shape": "round", "weight": 0.0},
                   {"size": 1.0, "shape": "round", "weight": 0.0}], "store": True})
    assert lacking.status_code == 422
    assert "record 1 has no column 'color'" in lacking.json()["detail"]
    assert lacking.json()["errors"][0]["loc"] == ["body", "inputs", 1, "color"]
    text = client.post(f"/v1/models/{model_id}/predict", headers=headers, json={
        "inputs": [{"size": "big", "color": "red", "shape": "round", "weight": 0.0}]})
    assert text.status_code == 422 and "row 0, column 'size'" in text.json()["detail"]
    bad_csv = b"size,color,label\n1,red,a\n2,blue,b\nx,green,a\n"
    upload = client.post("/v1/datasets", files={"file": ("b.csv", bad_csv)},
                         data={"target": "label", "column_kinds": '{"size": "numeric"}'},
                         headers=headers)
    assert upload.status_code == 422
    assert "row 3 (line 4), column 'size'" in upload.json()["detail"]
    records = client.post("/v1/datasets", headers=headers, json={
        "records": [{"a": 1, "b": "x"}, {"a": 2}], "target": "b"})
    assert records.status_code == 422 and "record 1 has no 'b'" in records.json()["detail"]
    assert row_counts(db) == before


@pytest.mark.parametrize("unknown", ["error"])
def test_unknown_category_error_mode(db: Database, unknown: str) -> None:
    client, headers = client_for(db), auth(db)
    upload = client.post("/v1/datasets", files={"file": ("t.csv", table_csv(60))},
                         data={"target": "label"}, headers=headers).json()
    job = client.post("/v1/jobs", headers=headers, json={
        "dataset_id": upload["id"], "training": {"epochs": 2},
        "preprocessing": {"unknown": unknown, "max_categories": 2}})
    assert job.status_code == 202, job.text
    run_next_job(db)
    with db.read() as session:
        model = session.query(tables.Model).one()
    answer = client.post(f"/v1/models/{model.id}/predict", headers=headers, json={
        "inputs": [{"size": 1, "color": "red", "shape": "round", "weight": 0},
                   {"size": 1, "color": "red", "shape": "oval", "weight": 0}]})
    assert answer.status_code == 422, answer.text
    assert "row 1, column 'shape'" in answer.json()["detail"]
    assert answer.json()["errors"][0]["loc"] == ["body", "inputs", 1, "shape"]


def test_batch_matching_by_name_and_by_position(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    _, model_id = trained(db, client, headers)
    lacking = client.post("/v1/datasets", headers=headers, json={
        "records": [{"size": 1.0, "color": "red", "weight": 0.0}] * 3})
    refused = client.post(f"/v1/models/{model_id}/batch-predictions", headers=headers,
                          json={"dataset_id": lacking.json()["id"]})
    assert refused.status_code == 422 and "no column 'shape'" in refused.json()["detail"]
    unnamed = client.post("/v1/datasets", headers=headers, json={
        "features": [[1.0, 0, 1, 0.0], [None, 1, 0, 0.5]], "column_kinds": {"x1": "categorical",
                                                                          "x2": "categorical"}})
    assert unnamed.status_code == 201, unnamed.text
    batch = client.post(f"/v1/models/{model_id}/batch-predictions", headers=headers,
                        json={"dataset_id": unnamed.json()["id"]})
    assert batch.status_code == 202, batch.text
    run_next_job(db)
    job = client.get(f"/v1/jobs/{batch.json()['id']}", headers=headers).json()
    assert job["status"] == "succeeded", job  # by position; "0"/"1" are unseen categories
    assert job["spec"]["ignored_columns"] is None
    assert client.get(f"/v1/predictions/{job['prediction_id']}",
                      headers=headers).json()["ignored_columns"] is None


def test_batch_predictions_list_the_columns_the_model_ignores(db: Database) -> None:
    """A dataset's columns the model does not take are listed, as /predict lists a record's."""
    client, headers = client_for(db), auth(db)
    _, model_id = trained(db, client, headers)
    extra = client.post("/v1/datasets", headers=headers, json={"records": [
        {"note": "a", "weight": 0.1, "shape": "round", "color": "red", "size": 1.0, "id": i}
        for i in range(3)]})
    assert extra.status_code == 201, extra.text
    batch = client.post(f"/v1/models/{model_id}/batch-predictions", headers=headers,
                        json={"dataset_id": extra.json()["id"]})
    assert batch.status_code == 202, batch.text
    assert batch.json()["spec"]["ignored_columns"] == ["note", "id"]
    run_next_job(db)
    job = client.get(f"/v1/jobs/{batch.json()['id']}", headers=headers).json()
    assert job["status"] == "succeeded", job
    stored = client.get(f"/v1/predictions/{job['prediction_id']}", headers=headers).json()
    assert stored["ignored_columns"] == ["note", "id"]
    online = client.post(f"/v1/models/{model_id}/predict", headers=headers, json={
        "inputs": [{"weight": 0.1, "shape": "round", "color": "red", "size": 1.0, "id": 0}],
        "store": True}).json()
    assert client.get(f"/v1/predictions/{online['prediction_id']}",
                      headers=headers).json()["ignored_columns"] == ["id"]


def test_a_model_from_before_columns_takes_rows_by_position(db: Database) -> None:
    from api_helpers import XOR, fake_model, upload

    client, headers = client_for(db), auth(db)
    model_id = fake_model(db, client, headers, upload(client, headers, XOR))
    rows = client.post(f"/v1/models/{model_id}/predict", headers=headers,
                       json={"inputs": [[0, 1]]})
    assert rows.status_code == 200, rows.text
    by_name = client.post(f"/v1/models/{model_id}/predict", headers=headers,
                          json={"inputs": [{"x0": 0, "x1": 1}]})
    assert by_name.status_code == 422 and "by position" in by_name.json()["detail"]
    null = client.post(f"/v1/models/{model_id}/predict", headers=headers,
                       json={"inputs": [[0, None]]})
    assert null.status_code == 422 and "row 0, column 1" in null.json()["detail"]
