"""The API's happy paths over a real database (SQLite and PostgreSQL), without workers."""

from __future__ import annotations

import io

import numpy as np
from api_helpers import XOR, auth, client_for, fake_model, upload

from service import artifacts, tables
from service.db import Database


def test_upload_json_csv_npz_and_dedupe(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    first = client.post("/v1/datasets", json=XOR, headers=headers)
    assert first.status_code == 201 and first.headers["location"].endswith(first.json()["id"])
    body = first.json()
    assert body["n_rows"] == 12 and body["n_features"] == 2 and body["classes"] == ["no", "yes"]
    assert body["target_kind"] == "labels" and body["n_targets"] == 1 and body["bytes"] > 0
    again = client.post("/v1/datasets", json=XOR, headers=headers)
    assert again.status_code == 200 and again.json()["id"] == body["id"]

    csv = b"a,b,y\n1,2,3.5\n3,4,1.5\n5,6,2.0\n"
    r = client.post("/v1/datasets", files={"file": ("d.csv", csv)}, data={"target": "y"},
                    headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["target_kind"] == "values" and r.json()["feature_names"] == ["a", "b"]

    buffer = io.BytesIO()
    np.savez(buffer, X=np.arange(12.0).reshape(6, 2), y=np.array([0, 1, 0, 1, 0, 1]))
    r = client.post("/v1/datasets", files={"file": ("d.npz", buffer.getvalue())},
                    data={"name": "npz"}, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "npz" and r.json()["classes"] == [0, 1]

    targetless = client.post("/v1/datasets", json={"features": [[1.0], [2.0]]}, headers=headers)
    assert targetless.status_code == 201 and targetless.json()["n_targets"] == 0
    assert targetless.json()["target_kind"] is None


def test_reuploading_the_same_content_under_a_new_name_says_it_was_deduplicated(
    db: Database,
) -> None:
    client, headers = client_for(db), auth(db)
    csv = b"a,b,y\n1,2,0\n3,4,1\n5,6,0\n"
    first = client.post("/v1/datasets", files={"file": ("d.csv", csv)},
                        data={"target": "y", "name": "march"}, headers=headers)
    assert first.status_code == 201, first.text
    assert (first.json()["deduplicated"], first.json()["message"]) == (False, None)
    dataset_id = first.json()["id"]

    again = client.post("/v1/datasets", files={"file": ("other.csv", csv)},
                        data={"target": "y", "name": "april"}, headers=headers)
    assert again.status_code == 200, again.text
    body = again.json()
    assert (body["id"], body["name"], body["deduplicated"]) == (dataset_id, "march", True)
    assert again.headers["location"] == f"/v1/datasets/{dataset_id}"
    assert body["message"] == (f"The same content was uploaded before as {dataset_id} ('march'): "
                               "the upload was deduplicated, that dataset is returned and nothing "
                               "new was stored; the name 'april' was not applied.")
    as_json = {"features": [[1, 2], [3, 4], [5, 6]], "targets": [0, 1, 0],
               "feature_names": ["a", "b"], "target_names": ["y"]}
    json_again = client.post("/v1/datasets", json=as_json, headers=headers).json()
    assert json_again["deduplicated"] is True and "'april'" not in json_again["message"]
    assert "deduplicated" not in client.get(f"/v1/datasets/{dataset_id}", headers=headers).json()


def test_lists_are_newest_first_with_cursors(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    ids = [upload(client, headers, {"features": [[i], [i + 1.0]]}) for i in range(5)]
    page = client.get("/v1/datasets?limit=2", headers=headers).json()
    assert [d["id"] for d in page["data"]] == ids[::-1][:2]
    seen = [d["id"] for d in page["data"]]
    while page["next"]:
        page = client.get(f"/v1/datasets?limit=2&cursor={page['next']}", headers=headers).json()
        seen += [d["id"] for d in page["data"]]
    assert seen == ids[::-1]
    assert client.get("/v1/datasets?limit=501", headers=headers).status_code == 422


def test_submit_fills_defaults_and_lists_by_status(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    dataset_id = upload(client, headers)
    r = client.post("/v1/jobs", json={"dataset_id": dataset_id}, headers=headers)
    assert r.status_code == 202 and r.headers["location"] == f"/v1/jobs/{r.json()['id']}"
    job = r.json()
    assert job["status"] == "queued" and job["kind"] == "train" and job["attempts"] == 0
    assert job["spec"]["task"] == "classification"
    assert job["spec"]["network"]["output_activation"] == "softmax"
    assert job["spec"]["training"]["optimizer"]["name"] == "adam"
    assert job["progress"] == {"epoch": 0, "epochs": job["spec"]["training"]["epochs"]}
    assert client.get(f"/v1/jobs/{job['id']}", headers=headers).json()["id"] == job["id"]
    queued = client.get("/v1/jobs?status=queued", headers=headers).json()["data"]
    assert [j["id"] for j in queued] == [job["id"]]
    assert client.get("/v1/jobs?status=running", headers=headers).json()["data"] == []
    assert client.get(f"/v1/jobs/{job['id']}/history", headers=headers).json() == {"data": []}


def test_estimate_does_not_queue(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    dataset_id = upload(client, headers)
    r = client.post("/v1/jobs/estimate", json={"dataset_id": dataset_id}, headers=headers)
    assert r.status_code == 200, r.text
    assert set(r.json()) >= {"parameters", "flops_per_epoch", "memory_bytes", "estimated_seconds"}
    assert client.get("/v1/jobs", headers=headers).json()["data"] == []


def test_idempotency_key(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    dataset_id = upload(client, headers)
    keyed = {**headers, "Idempotency-Key": "abc"}
    first = client.post("/v1/jobs", json={"dataset_id": dataset_id}, headers=keyed)
    again = client.post("/v1/jobs", json={"dataset_id": dataset_id}, headers=keyed)
    assert first.status_code == 202 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    other = client.post(
        "/v1/jobs", json={"dataset_id": dataset_id, "max_attempts": 1}, headers=keyed
    )
    assert other.status_code == 409 and other.headers["content-type"] == "application/problem+json"


def test_queue_limit_429(db: Database) -> None:
    client, headers = client_for(db, max_queued_jobs_per_tenant=2), auth(db)
    dataset_id = upload(client, headers)
    for _ in range(2):
        assert client.post("/v1/jobs", json={"dataset_id": dataset_id}, headers=headers).is_success
    r = client.post("/v1/jobs", json={"dataset_id": dataset_id}, headers=headers)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


def test_cancel_and_delete(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    dataset_id = upload(client, headers)
    job = client.post("/v1/jobs", json={"dataset_id": dataset_id}, headers=headers).json()
    assert client.delete(f"/v1/datasets/{dataset_id}", headers=headers).status_code == 409
    r = client.post(f"/v1/jobs/{job['id']}/cancel", headers=headers)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert client.post(f"/v1/jobs/{job['id']}/cancel", headers=headers).status_code == 409
    # Once no job is active the dataset can go; the finished job stays, pointing at nothing.
    assert client.delete(f"/v1/datasets/{dataset_id}", headers=headers).status_code == 204
    kept = client.get(f"/v1/jobs/{job['id']}", headers=headers)
    assert kept.status_code == 200 and kept.json()["dataset_id"] is None
    unused = upload(client, headers, {"features": [[1.0], [2.0]]})
    assert client.delete(f"/v1/datasets/{unused}", headers=headers).status_code == 204
    assert client.get(f"/v1/datasets/{unused}", headers=headers).status_code == 404


def test_models_weights_predict_and_stored_predictions(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    dataset_id = upload(client, headers)
    model_id = fake_model(db, client, headers, dataset_id)
    model = client.get(f"/v1/models/{model_id}", headers=headers).json()
    assert model["classes"] == ["no", "yes"] and model["task"] == "classification"
    assert [m["id"] for m in client.get("/v1/models", headers=headers).json()["data"]] == [model_id]

    weights = client.get(f"/v1/models/{model_id}/weights", headers=headers)
    assert weights.headers["content-type"] == "application/octet-stream"
    params, _ = artifacts.decode_weights(weights.content)
    assert artifacts.weights_sha256(params) == model["weights_sha256"]

    r = client.post(f"/v1/models/{model_id}/predict", headers=headers,
                    json={"inputs": [[0, 1], [1, 1], [0, 0]], "store": True})
    assert r.status_code == 200, r.text
    out = r.json()
    assert set(out["predictions"]) <= {"no", "yes"} and len(out["probabilities"][0]) == 2
    stored = client.get(f"/v1/predictions/{out['prediction_id']}?offset=1&limit=1",
                        headers=headers).json()
    assert stored["n_rows"] == 3 and stored["predictions"] == out["predictions"][1:2]
    assert stored["next_offset"] == 2
    again = client.post(f"/v1/models/{model_id}/predict", headers=headers,
                        json={"inputs": [[0, 1]]})
    assert again.json()["prediction_id"] is None
    assert model_id in client.app.state.model_cache  # type: ignore[attr-defined]

    batch = client.post(f"/v1/models/{model_id}/batch-predictions", headers=headers,
                        json={"dataset_id": dataset_id})
    assert batch.status_code == 202 and batch.json()["kind"] == "predict"
    assert batch.json()["model_id"] == model_id


def test_health_ready_metrics_request_id(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    upload(client, headers)
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    r = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    assert client.get("/nowhere").headers["x-request-id"]
    dataset_id = upload(client, headers, {"features": [[1.0], [2.0]], "targets": [1.0, 2.0]})
    client.post("/v1/jobs", json={"dataset_id": dataset_id}, headers=headers)
    text = client.get("/metrics").text
    assert 'descent_jobs{kind="train",status="queued"} 1.0' in text
    assert "descent_queue_depth 1.0" in text
    assert 'route="/v1/datasets"' in text and "descent_http_request_duration_seconds" in text


def test_job_durations_in_metrics(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    model_id = fake_model(db, client, headers, upload(client, headers))
    assert model_id
    with db.read() as session:
        assert session.query(tables.Job).count() == 1
    text = client.get("/metrics").text
    assert 'descent_job_duration_seconds_count{kind="train",status="succeeded"} 1.0' in text


def test_events_stream_ends_after_final_status(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    dataset_id = upload(client, headers)
    job = client.post("/v1/jobs", json={"dataset_id": dataset_id}, headers=headers).json()
    with db.write() as session:
        row = session.get(tables.Job, job["id"])
        assert row is not None
        row.status, row.attempts = "running", 1
        for epoch in (1, 2, 3):
            session.add(tables.JobEpoch(job_id=row.id, epoch=epoch, metrics={"loss": 1.0 / epoch},
                                        seconds=0.1))
        row.progress_epoch = 3
    with db.write() as session:
        row = session.get(tables.Job, job["id"])
        assert row is not None
        row.status = "succeeded"
    text = client.get(f"/v1/jobs/{job['id']}/events", headers=headers).text
    ids = [line[4:] for line in text.splitlines() if line.startswith("id: ")]
    kinds = [line[7:] for line in text.splitlines() if line.startswith("event: ")]
    assert kinds == ["epoch", "epoch", "epoch", "status"]
    resumed = client.get(f"/v1/jobs/{job['id']}/events",
                         headers={**headers, "Last-Event-ID": ids[1]}).text
    assert [line for line in resumed.splitlines() if line.startswith("event: ")] == [
        "event: epoch", "event: status"]
    assert '"epoch": 3' in resumed and '"epoch": 2' not in resumed
    history = client.get(f"/v1/jobs/{job['id']}/history?after=1", headers=headers).json()
    assert [row["epoch"] for row in history["data"]] == [2, 3]
