"""The Python client against a real `descent serve`: every method, errors, and `wait`."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import numpy as np
import pytest
from descent_server import Server
from descent_testdata import blobs, linear

from descent import Client, DescentAPIError, DescentConnectionError, Event, Job

pytestmark = [pytest.mark.system, pytest.mark.slow]

FAST = {"epochs": 15, "batch_size": 16}
SLOW_NETWORK = {"hidden_layers": [{"units": 64, "activation": "relu"},
                                  {"units": 64, "activation": "relu"}]}


def train(client: Client, dataset_id: str, **training: object) -> Job:
    job = client.submit_job(dataset_id=dataset_id, training={**FAST, **training})
    return client.wait(job.id, timeout=180)


def test_datasets_upload_every_way_get_list_delete(client: Client, tmp_path: Path,
                                                   classification_csv: Path) -> None:
    X, y = blobs(n=30, seed=11)
    from_arrays = client.upload_dataset(X, y, name="arrays")
    assert (from_arrays.n_rows, from_arrays.n_features, from_arrays.n_targets) == (30, 4, 1)
    assert from_arrays.target_kind == "labels" and from_arrays.classes == [0, 1, 2]
    assert client.upload_dataset(X.tolist(), y.tolist(), name="arrays").id == from_arrays.id

    strings = client.upload_dataset([[0, 1], [1, 0], [1, 1]], ["b", "a", "b"])
    assert strings.classes == ["a", "b"]
    no_targets = client.upload_dataset(X[:5])
    assert no_targets.n_targets == 0

    # Other tests of this session's server may upload the same file first (then its name wins).
    from_csv = client.upload_dataset(classification_csv, target="label", name="csv")
    assert (from_csv.n_rows, from_csv.n_features, from_csv.classes) == (150, 4, [0, 1, 2])

    npz = tmp_path / "linear.npz"
    Xr, yr = linear(n=40)
    buffer = io.BytesIO()
    np.savez(buffer, X=Xr, y=yr)
    npz.write_bytes(buffer.getvalue())
    from_npz = client.upload_dataset(npz)
    assert from_npz.target_kind == "values" and from_npz.n_features == 3

    assert client.get_dataset(from_csv.id) == from_csv
    listed = [d.id for d in client.list_datasets(page_size=2)]  # follows cursors, 2 per page
    assert len(listed) == len(set(listed))
    assert {from_arrays.id, strings.id, no_targets.id, from_csv.id, from_npz.id} <= set(listed)

    client.delete_dataset(strings.id)
    with pytest.raises(DescentAPIError) as missing:
        client.get_dataset(strings.id)
    assert missing.value.status == 404 and strings.id in missing.value.detail


def test_bad_uploads_raise_with_the_servers_detail(client: Client, tmp_path: Path,
                                                   classification_csv: Path) -> None:
    with pytest.raises(DescentAPIError) as ragged:
        client.upload_dataset([[1, 2], [3]], [0, 1])
    assert ragged.value.status in (400, 422) and ragged.value.detail
    with pytest.raises(DescentAPIError) as no_column:
        client.upload_dataset(classification_csv, target="nope")
    assert no_column.value.status in (400, 422) and "nope" in str(no_column.value)


def test_jobs_estimate_submit_idempotency_list_history_events(client: Client) -> None:
    X, y = blobs(seed=3)
    dataset = client.upload_dataset(X, y)
    spec = {"dataset_id": dataset.id, "network": {"hidden_layers": [{"units": 8}]},
            "training": FAST}
    estimate = client.estimate(spec)
    assert estimate.parameters == 4 * 8 + 8 + 8 * 3 + 3

    job = client.submit_job(spec, idempotency_key="client-test-1")
    assert job.status in ("queued", "running") and job.kind == "train"
    assert client.submit_job(spec, idempotency_key="client-test-1").id == job.id
    with pytest.raises(DescentAPIError) as conflict:
        client.submit_job(spec, idempotency_key="client-test-1", max_attempts=1)
    assert conflict.value.status == 409

    events: list[Event] = []
    done = client.wait(job.id, on_event=events.append, timeout=180)
    assert done.status == "succeeded" and done.model_id and done.done
    epochs = [e.row.epoch for e in events if e.row is not None]
    assert epochs == sorted(set(epochs)) and epochs[-1] == done.epoch
    statuses = [e.job.status for e in events if e.job is not None]
    assert statuses[-1] == "succeeded"

    history = client.history(job.id)
    assert [r.epoch for r in history] == list(range(1, done.epoch + 1))
    assert all(r.loss is not None and "accuracy" in r.metrics for r in history)
    assert [r.epoch for r in client.history(job.id, after=3)] == list(range(4, done.epoch + 1))
    assert client.get_job(job.id).status == "succeeded"
    assert job.id in {j.id for j in client.list_jobs(status="succeeded", page_size=1)}
    assert job.id not in {j.id for j in client.list_jobs(status="failed")}

    # Waiting on a job that has finished shows its whole curve too, then its end.
    late: list[Event] = []
    assert client.wait(job.id, on_event=late.append, timeout=60).status == "succeeded"
    assert [e.row.epoch for e in late if e.row is not None] == list(range(1, done.epoch + 1))
    assert [e.kind for e in late][-1] == "status" and late[-1].job is not None
    assert late[-1].job.status == "succeeded"

    replay = list(client.events(job.id))  # a finished job's stream ends with its final status
    assert replay and replay[-1].kind == "status" and replay[-1].job is not None
    assert replay[-1].job.status == "succeeded"

    with pytest.raises(DescentAPIError) as finished:
        client.cancel_job(job.id)
    assert finished.value.status == 409


def test_wait_returns_a_failed_job(client: Client) -> None:
    X, y = linear(n=60)
    dataset = client.upload_dataset(X * 1000, y * 1e6)
    job = client.submit_job(dataset_id=dataset.id, max_attempts=1, training={
        "epochs": 50, "standardize": False, "optimizer": {"name": "sgd", "learning_rate": 10.0}})
    done = client.wait(job.id, timeout=180)
    assert done.status == "failed" and done.error and done.error["code"] == "DIVERGED"
    assert done.model_id is None


def test_wait_returns_a_cancelled_job(client: Client) -> None:
    X, y = blobs(n=600, seed=5)
    dataset = client.upload_dataset(X, y)
    job = client.submit_job(dataset_id=dataset.id, network=SLOW_NETWORK, training={
        "epochs": 10000, "batch_size": 8, "early_stopping": None})
    cancelled = threading.Event()

    def on_event(event: Event) -> None:
        if event.row is not None and event.row.epoch >= 2 and not cancelled.is_set():
            cancelled.set()
            client.cancel_job(job.id)

    done = client.wait(job.id, on_event=on_event, timeout=180)
    assert cancelled.is_set()
    assert done.status == "cancelled" and done.epoch < 10000


def test_wait_times_out(client: Client) -> None:
    X, y = blobs(n=600, seed=6)
    dataset = client.upload_dataset(X, y)
    job = client.submit_job(dataset_id=dataset.id, network=SLOW_NETWORK, training={
        "epochs": 10000, "batch_size": 8, "early_stopping": None})
    try:
        with pytest.raises(TimeoutError):
            client.wait(job.id, timeout=1.0)
    finally:
        client.cancel_job(job.id)
        assert client.wait(job.id, timeout=120).status == "cancelled"


def test_models_weights_predict_and_batch_predictions(client: Client) -> None:
    X, y = blobs(seed=9)
    dataset = client.upload_dataset(X, y)
    job = train(client, dataset.id)
    assert job.status == "succeeded" and job.model_id
    model = client.get_model(job.model_id)
    assert (model.task, model.n_features, model.classes) == ("classification", 4, [0, 1, 2])
    assert model.id in {m.id for m in client.list_models(page_size=1)}

    weights = np.load(io.BytesIO(client.download_weights(model.id)))
    assert weights["W0"].shape[0] == 4 and "mean" in weights.files

    result = client.predict(model.id, X[:6])
    assert len(result.predictions) == 6 and set(result.predictions) <= {0, 1, 2}
    assert result.probabilities is not None
    np.testing.assert_allclose(np.sum(result.probabilities, axis=1), 1.0, atol=1e-5)
    assert result.prediction_id is None

    stored = client.predict(model.id, X[:3].tolist(), store=True)
    assert stored.prediction_id
    fetched = client.get_prediction(stored.prediction_id)
    assert fetched.n_rows == 3 and fetched.predictions == stored.predictions

    batch = client.batch_predict(model.id, dataset.id)
    assert batch.kind == "predict"
    batch = client.wait(batch.id, timeout=180)
    assert batch.status == "succeeded" and batch.prediction_id
    page = client.get_prediction(batch.prediction_id, offset=10, limit=5)
    assert page.n_rows == 150 and len(page.predictions) == 5

    with pytest.raises(DescentAPIError) as wrong_width:
        client.predict(model.id, [[1.0, 2.0]])
    assert wrong_width.value.status == 422 and wrong_width.value.errors
    assert "4" in wrong_width.value.detail


def test_regression_predictions_are_numbers(client: Client) -> None:
    X, y = linear(seed=4)
    job = train(client, client.upload_dataset(X, y).id, epochs=30)
    assert job.status == "succeeded" and job.model_id
    assert "r2" in client.history(job.id)[-1].metrics
    result = client.predict(job.model_id, X[:4])
    assert result.probabilities is None and all(isinstance(p, float) for p in result.predictions)


def test_bad_key_and_unreachable_server(server: Server) -> None:
    with Client(server.url, "not-a-key") as stranger, pytest.raises(DescentAPIError) as denied:
        next(stranger.list_jobs())
    assert denied.value.status == 401 and denied.value.title
    with Client("http://127.0.0.1:9", "k") as nowhere, pytest.raises(DescentConnectionError):
        nowhere.get_job("job_x")


def test_missing_resources_are_404_with_detail(client: Client) -> None:
    for call in (lambda: client.get_job("job_nope"), lambda: client.get_model("mdl_nope"),
                 lambda: client.get_prediction("pred_nope"), lambda: client.history("job_nope")):
        with pytest.raises(DescentAPIError) as missing:
            call()
        assert missing.value.status == 404 and missing.value.detail
