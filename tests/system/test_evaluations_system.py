"""Evaluation reports over real HTTP (issue 12, items 6-7): the model's report on its validation
part, and ``POST /v1/models/{id}/evaluations`` — inline for a small dataset, an ``evaluate`` job
for a large one — each number equal to sklearn.metrics on the predictions the API serves
(within 1e-9); bad input is a 4xx naming the field; another tenant's model is not found."""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from sklearn import metrics as skm

from service.db import connect
from service.keys import create_key
from tests.system.served import serve

TOL = 1e-9
DEADLINE = 120.0


def _wait(client: httpx.Client, path: str, done: Any) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE
    while True:
        body: dict[str, Any] = client.get(path).json()
        if done(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.2)


def _blobs(n: int, seed: int) -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = rng.normal(size=(n, 2)) + np.array([[0, 0], [1.5, 0], [0, 1.5]])[y]
    return X, [["ant", "bee", "cat"][c] for c in y]


def _train(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    ds = client.post("/v1/datasets", json=body).json()["id"]
    job = client.post("/v1/jobs", json={"dataset_id": ds, "training": {
        "epochs": 15, "validation_split": 0.25, "seed": 1}}).json()
    job = _wait(client, f"/v1/jobs/{job['id']}", lambda j: j["status"] in
                ("succeeded", "failed", "cancelled"))
    assert job["status"] == "succeeded", job
    return client.get(f"/v1/models/{job['model_id']}").json()


def _check_classification(report: dict[str, Any], y: list[str], P: np.ndarray) -> None:
    classes = report["classes"]
    yi = np.array([classes.index(v) for v in y])
    pred = P.argmax(axis=1)
    labels = list(range(len(classes)))
    assert report["accuracy"] == pytest.approx(skm.accuracy_score(yi, pred), abs=TOL)
    with warnings.catch_warnings():  # float32 probabilities sum to 1 within 1e-7, not 1e-8
        warnings.simplefilter("ignore")
        balanced = skm.balanced_accuracy_score(yi, pred)
        loss = skm.log_loss(yi, P, labels=labels)
    assert report["balanced_accuracy"] == pytest.approx(balanced, abs=TOL)
    p, r, f, s = skm.precision_recall_fscore_support(yi, pred, labels=labels, zero_division=0)
    got = np.array([[c["precision"], c["recall"], c["f1"], c["support"]]
                    for c in report["per_class"]])
    np.testing.assert_allclose(got, np.column_stack([p, r, f, s]), atol=TOL, rtol=0)
    for avg in ("macro", "weighted"):
        expected = skm.precision_recall_fscore_support(yi, pred, labels=labels, average=avg,
                                                       zero_division=0)[:3]
        a = report[f"{avg}_avg"]
        assert (a["precision"], a["recall"], a["f1"]) == pytest.approx(expected, abs=TOL)
    assert report["confusion_matrix"] == skm.confusion_matrix(yi, pred, labels=labels).tolist()
    assert report["log_loss"] == pytest.approx(loss, abs=TOL)
    assert report["roc_auc"] == pytest.approx(skm.roc_auc_score(
        yi, P, multi_class="ovr", average="macro", labels=labels), abs=TOL)


def test_evaluation_reports_equal_sklearn(tmp_path: Path) -> None:
    with serve(tmp_path, workers=1, DESCENT_EVALUATE_INLINE_ROWS="100") as server, \
            httpx.Client(base_url=server.url, headers=server.headers, timeout=60) as client:
        X, y = _blobs(240, 0)
        model = _train(client, {"features": X.tolist(), "targets": y})
        stored = model["evaluation"]  # the validation part: a quarter of the rows
        assert stored["task"] == "classification" and stored["n_rows"] == 60
        assert np.sum(stored["confusion_matrix"]) == 60 and stored["classes"] == model["classes"]
        mid = model["id"]
        for n, status in ((80, 201), (150, 202)):  # inline under 100 rows, a job above
            Xe, ye = _blobs(n, n)
            ds = client.post("/v1/datasets", json={"features": Xe.tolist(), "targets": ye}
                             ).json()["id"]
            created = client.post(f"/v1/models/{mid}/evaluations", json={"dataset_id": ds})
            assert created.status_code == status, created.text
            evaluation = _wait(client, f"/v1/evaluations/{created.json()['id']}",
                               lambda e: e["status"] in ("succeeded", "failed"))
            assert evaluation["status"] == "succeeded", evaluation
            assert (evaluation["job_id"] is None) == (status == 201)
            P = np.array(client.post(f"/v1/models/{mid}/predict",
                                     json={"inputs": Xe.tolist()}).json()["probabilities"])
            _check_classification(evaluation["report"], ye, P)
        listed = client.get(f"/v1/models/{mid}/evaluations").json()["data"]
        assert len(listed) == 2 and all(e["report"] for e in listed)
        _regression(client)
        _multilabel(client)
        _refusals(client, server.url, tmp_path, mid, X)


def _regression(client: httpx.Client) -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 3))
    Y = np.column_stack([X @ [1.0, 2.0, -1.0] + 1e3, X[:, 0] * 50.0])
    model = _train(client, {"features": X.tolist(), "targets": Y.tolist(),
                            "target_names": ["price", "size"]})
    assert model["evaluation"]["task"] == "regression"
    ds = client.post("/v1/datasets", json={"features": X[:90].tolist(),
                                           "targets": Y[:90].tolist()}).json()["id"]
    created = client.post(f"/v1/models/{model['id']}/evaluations", json={"dataset_id": ds})
    assert created.status_code == 201, created.text
    report = created.json()["report"]
    P = np.array(client.post(f"/v1/models/{model['id']}/predict",
                             json={"inputs": X[:90].tolist()}).json()["predictions"])
    truth = Y[:90]
    for j, row in enumerate(report["targets"]):
        assert row["mae"] == pytest.approx(skm.mean_absolute_error(truth[:, j], P[:, j]), abs=TOL)
        assert row["rmse"] == pytest.approx(
            skm.root_mean_squared_error(truth[:, j], P[:, j]), abs=TOL)
        assert row["r2"] == pytest.approx(skm.r2_score(truth[:, j], P[:, j]), abs=TOL)
    assert report["r2"] == pytest.approx(skm.r2_score(truth, P), abs=TOL)
    assert report["rmse"] == pytest.approx(skm.root_mean_squared_error(truth, P), abs=TOL)


def _multilabel(client: httpx.Client) -> None:
    rng = np.random.default_rng(5)
    X = rng.normal(size=(160, 3))
    sets = [[name for name, on in (("spam", x[0] > 0), ("work", x[1] > 0), ("news", x[2] > 1.5))
             if on] for x in X]
    ds = client.post("/v1/datasets", json={"features": X.tolist(), "targets": sets}).json()["id"]
    job = client.post("/v1/jobs", json={"dataset_id": ds, "task": "multilabel", "training": {
        "epochs": 15, "validation_split": 0.25, "seed": 1}}).json()
    job = _wait(client, f"/v1/jobs/{job['id']}", lambda j: j["status"] in
                ("succeeded", "failed", "cancelled"))
    assert job["status"] == "succeeded", job
    model = client.get(f"/v1/models/{job['model_id']}").json()
    assert model["evaluation"]["task"] == "multilabel"
    X, sets = X[:90], sets[:90]  # inline: under the server's 100 rows
    ds = client.post("/v1/datasets", json={"features": X.tolist(), "targets": sets}).json()["id"]
    created = client.post(f"/v1/models/{model['id']}/evaluations", json={"dataset_id": ds})
    assert created.status_code == 201, created.text
    report = created.json()["report"]
    labels = model["classes"]
    answer = client.post(f"/v1/models/{model['id']}/predict", json={"inputs": X.tolist()}).json()
    Y_hat = np.array([[int(label in row) for label in labels] for row in answer["predictions"]])
    Y = np.array([[int(label in s) for label in labels] for s in sets])
    assert report["hamming_accuracy"] == pytest.approx(1 - skm.hamming_loss(Y, Y_hat), abs=TOL)
    assert report["subset_accuracy"] == pytest.approx(skm.accuracy_score(Y, Y_hat), abs=TOL)
    for average in ("micro", "macro"):
        assert report[f"{average}_f1"] == pytest.approx(
            skm.f1_score(Y, Y_hat, average=average, zero_division=0), abs=TOL)


def _refusals(client: httpx.Client, url: str, tmp: Path, mid: str, X: np.ndarray) -> None:
    def refused(dataset: dict[str, Any]) -> dict[str, Any]:
        ds = client.post("/v1/datasets", json=dataset).json()["id"]
        answer = client.post(f"/v1/models/{mid}/evaluations", json={"dataset_id": ds})
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"][0]["loc"] == ["body", "dataset_id"], answer.json()
        return answer.json()

    assert "no targets" in refused({"features": X[:5].tolist()})["detail"]
    assert "features" in refused({"features": np.zeros((5, 4)).tolist(),
                                  "targets": ["ant"] * 5})["detail"]
    assert "'eel'" in refused({"features": X[:5].tolist(), "targets": ["eel"] * 5})["detail"]
    missing = client.post(f"/v1/models/{mid}/evaluations", json={})
    assert missing.status_code == 422 and "dataset_id" in str(missing.json()["errors"])
    db = connect(f"sqlite:///{tmp / 'descent.db'}")
    try:
        _, key = create_key(db, tenant="other")
    finally:
        db.dispose()
    other = {"Authorization": f"Bearer {key}"}
    ds = httpx.post(f"{url}/v1/datasets", json={"features": X[:5].tolist(),
                                                "targets": ["ant"] * 5}, headers=other)
    theirs = httpx.post(f"{url}/v1/models/{mid}/evaluations",
                        json={"dataset_id": ds.json()["id"]}, headers=other)
    assert theirs.status_code == 404, theirs.text
    assert httpx.get(f"{url}/v1/models/{mid}/evaluations", headers=other).status_code == 404
