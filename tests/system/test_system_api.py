"""The whole service over real HTTP: `descent serve` (API + workers) driven with httpx."""

from __future__ import annotations

import csv
import io
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from served import Served, serve
from sklearn.datasets import load_diabetes, load_digits

pytestmark = [pytest.mark.system, pytest.mark.slow]

TRAIN = {
    "network": {"hidden_layers": [{"units": 64, "activation": "relu"}]},
    "training": {"epochs": 30, "batch_size": 32,
                 "optimizer": {"name": "adam", "learning_rate": 0.005}},
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("system")
    with serve(tmp) as served:
        yield served
    assert served.process.returncode == 0, served.log.read_text()
    assert "Descent listening on http://127.0.0.1:" in served.log.read_text()


@pytest.fixture(scope="module")
def client(server: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=30) as c:
        yield c


def wait_for(client: httpx.Client, job_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.2)


@pytest.fixture(scope="module")
def digits() -> dict[str, Any]:
    data = load_digits()
    rng = np.random.default_rng(0)
    order = rng.permutation(len(data.target))
    held = order[: len(order) // 5]
    train = order[len(order) // 5 :]
    labels = np.array([f"digit-{t}" for t in data.target])
    return {"X": data.data, "labels": labels, "train": train, "held": held}


def _csv(X: np.ndarray, labels: np.ndarray) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*(f"px{i}" for i in range(X.shape[1])), "digit"])
    for row, label in zip(X, labels, strict=True):
        writer.writerow([*(int(v) for v in row), label])
    return out.getvalue().encode()


@pytest.fixture(scope="module")
def trained(client: httpx.Client, digits: dict[str, Any]) -> dict[str, Any]:
    X, labels, train = digits["X"], digits["labels"], digits["train"]
    content = _csv(X[train], labels[train])
    upload = client.post("/v1/datasets", files={"file": ("digits.csv", content)},
                         data={"target": "digit", "name": "digits"})
    assert upload.status_code == 201, upload.text
    dataset = upload.json()
    assert dataset["classes"] == sorted({str(v) for v in labels})
    submitted = client.post("/v1/jobs", json={"dataset_id": dataset["id"], **TRAIN})
    assert submitted.status_code == 202, submitted.text
    job = wait_for(client, submitted.json()["id"])
    assert job["status"] == "succeeded", job
    return {"dataset": dataset, "job": job, "model_id": job["model_id"]}


def test_train_history_and_predict_held_out(client: httpx.Client, digits: dict[str, Any],
                                            trained: dict[str, Any]) -> None:
    job = trained["job"]
    history = client.get(f"/v1/jobs/{job['id']}/history").json()["data"]
    assert [row["epoch"] for row in history] == list(range(1, len(history) + 1))
    assert {"loss", "val_loss", "accuracy", "val_accuracy"} <= set(history[-1])
    later = client.get(f"/v1/jobs/{job['id']}/history?after=3").json()["data"]
    assert later == history[3:]
    held = digits["held"]
    r = client.post(f"/v1/models/{trained['model_id']}/predict",
                    json={"inputs": digits["X"][held].tolist()})
    assert r.status_code == 200, r.text
    predictions = np.array(r.json()["predictions"])
    accuracy = float(np.mean(predictions == digits["labels"][held]))
    assert accuracy >= 0.95, accuracy


def test_events_stream_and_reconnect(client: httpx.Client, trained: dict[str, Any]) -> None:
    job_id = trained["job"]["id"]

    def events(last: str | None = None) -> list[tuple[str, str, Any]]:
        headers = {"Last-Event-ID": last} if last else {}
        out, event_id, kind = [], "", ""
        with client.stream("GET", f"/v1/jobs/{job_id}/events", headers=headers) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            for line in response.iter_lines():
                if line.startswith("id: "):
                    event_id = line[4:]
                elif line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    out.append((event_id, kind, json.loads(line[6:])))
        return out

    everything = events()
    epochs = [data["epoch"] for _, kind, data in everything if kind == "epoch"]
    assert epochs == list(range(1, trained["job"]["progress"]["epoch"] + 1))
    assert everything[-1][1] == "status" and everything[-1][2]["status"] == "succeeded"
    rest = events(everything[4][0])
    assert rest == everything[5:]


def test_store_and_read_prediction(client: httpx.Client, digits: dict[str, Any],
                                   trained: dict[str, Any]) -> None:
    rows = digits["X"][digits["held"][:25]].tolist()
    out = client.post(f"/v1/models/{trained['model_id']}/predict",
                      json={"inputs": rows, "store": True}).json()
    assert out["prediction_id"].startswith("pred_")
    page = client.get(f"/v1/predictions/{out['prediction_id']}?offset=20&limit=10").json()
    assert page["n_rows"] == 25 and page["predictions"] == out["predictions"][20:]
    assert page["probabilities"] == out["probabilities"][20:]


def test_batch_prediction(client: httpx.Client, digits: dict[str, Any],
                          trained: dict[str, Any]) -> None:
    held = digits["held"]
    dataset = client.post("/v1/datasets", json={"features": digits["X"][held].tolist()}).json()
    assert dataset["n_targets"] == 0
    r = client.post(f"/v1/models/{trained['model_id']}/batch-predictions",
                    json={"dataset_id": dataset["id"]})
    assert r.status_code == 202 and r.json()["kind"] == "predict"
    job = wait_for(client, r.json()["id"])
    assert job["status"] == "succeeded" and job["prediction_id"], job
    stored = client.get(f"/v1/predictions/{job['prediction_id']}").json()
    direct = client.post(f"/v1/models/{trained['model_id']}/predict",
                         json={"inputs": digits["X"][held].tolist()}).json()
    assert stored["predictions"] == direct["predictions"]


def test_weights_reproduce_predictions_with_numpy(client: httpx.Client, digits: dict[str, Any],
                                                  trained: dict[str, Any]) -> None:
    model = client.get(f"/v1/models/{trained['model_id']}").json()
    r = client.get(f"/v1/models/{trained['model_id']}/weights")
    assert r.headers["content-type"] == "application/octet-stream"
    npz = np.load(io.BytesIO(r.content))
    X = digits["X"][digits["held"]]
    a = (X - npz["mean"]) / npz["scale"]
    n_layers = sum(1 for name in npz.files if name.startswith("W"))
    for i in range(n_layers):
        a = a @ npz[f"W{i}"] + npz[f"b{i}"]
        if i < n_layers - 1:
            a = np.maximum(a, 0)
    ours = [model["classes"][k] for k in a.argmax(axis=1)]
    served = client.post(f"/v1/models/{model['id']}/predict", json={"inputs": X.tolist()})
    assert served.json()["predictions"] == ours


def test_idempotent_resubmit(client: httpx.Client, trained: dict[str, Any]) -> None:
    body = {"dataset_id": trained["dataset"]["id"], "training": {"epochs": 1}}
    headers = {"Idempotency-Key": "system-test-1"}
    first = client.post("/v1/jobs", json=body, headers=headers)
    again = client.post("/v1/jobs", json=body, headers=headers)
    assert first.status_code == 202 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    other = client.post("/v1/jobs", json={**body, "training": {"epochs": 2}}, headers=headers)
    assert other.status_code == 409
    assert other.headers["content-type"] == "application/problem+json"
    wait_for(client, first.json()["id"])


def test_cancel_running_job(client: httpx.Client, trained: dict[str, Any]) -> None:
    body = {
        "dataset_id": trained["dataset"]["id"],
        "network": {"hidden_layers": [{"units": 256, "activation": "tanh"}]},
        "training": {"epochs": 5000, "batch_size": 8, "early_stopping": None},
    }
    job = client.post("/v1/jobs", json=body).json()
    deadline = time.monotonic() + 60
    while client.get(f"/v1/jobs/{job['id']}").json()["status"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    asked = time.monotonic()
    r = client.post(f"/v1/jobs/{job['id']}/cancel")
    assert r.status_code == 200 and r.json()["cancel_requested"] is True
    final = wait_for(client, job["id"], timeout=10)
    assert final["status"] == "cancelled" and time.monotonic() - asked < 5
    assert client.post(f"/v1/jobs/{job['id']}/cancel").status_code == 409


def test_regression_history_has_mae_and_r2(client: httpx.Client) -> None:
    data = load_diabetes()
    dataset = client.post("/v1/datasets", json={
        "name": "diabetes", "features": data.data.tolist(), "targets": data.target.tolist()})
    assert dataset.status_code == 201 and dataset.json()["target_kind"] == "values"
    job = client.post("/v1/jobs", json={
        "dataset_id": dataset.json()["id"], "task": "regression",
        "network": {"hidden_layers": [{"units": 32, "activation": "relu"}]},
        "training": {"epochs": 20, "optimizer": {"name": "adam", "learning_rate": 0.01}},
    }).json()
    assert job["spec"]["network"]["loss"] == "mse"
    final = wait_for(client, job["id"])
    assert final["status"] == "succeeded", final
    last = client.get(f"/v1/jobs/{job['id']}/history").json()["data"][-1]
    assert {"loss", "mae", "r2", "val_mae", "val_r2"} <= set(last)
    out = client.post(f"/v1/models/{final['model_id']}/predict",
                      json={"inputs": data.data[:3].tolist()}).json()
    assert out["probabilities"] is None and all(isinstance(v, float) for v in out["predictions"])


def test_metrics_match_the_database(client: httpx.Client, trained: dict[str, Any]) -> None:
    text = httpx.get(f"{client.base_url}/metrics").text
    jobs = client.get("/v1/jobs?status=succeeded&limit=500").json()["data"]
    train = sum(1 for j in jobs if j["kind"] == "train")
    assert f'descent_jobs{{kind="train",status="succeeded"}} {float(train)}' in text
    assert "descent_job_duration_seconds_bucket" in text


def test_graceful_stop(tmp_path: Path) -> None:
    with serve(tmp_path, workers=1) as served:
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(timeout=60) == 0
