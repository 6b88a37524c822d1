"""Tables (issue 10) with issue 11's answers: regression targets scaled beside the column steps,
a job's task overriding a CSV's guessed target kind, float64 standardization of the encoded
numeric block (indicator and one-hot columns mean 0, scale 1), and the ONNX export — float64 for a
numeric table, one input per column for one with categorical columns, the targets' scaling
undone after the network in both."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import onnxruntime as ort
from api_helpers import auth, client_for
from test_tables_api import run_next_job

from service.db import Database

CITIES = ["lyon", "nice", "paris"]


def regression_csv(n: int = 300, seed: int = 0, *, whole: bool = False,
                   categorical: bool = True) -> bytes:
    """``a`` (numeric, blanks), ``city`` (categorical) unless ``categorical`` is off, ``b``;
    target ``y`` = 1e4 + 30·a + 20·b + 40·[city = paris] (rounded when ``whole``)."""
    rng = np.random.default_rng(seed)
    lines = ["a,city,b,y" if categorical else "a,b,y"]
    for i in range(n):
        a, b, city = rng.normal(), rng.normal(), CITIES[i % 3]
        y = 1e4 + 30 * a + 20 * b + (40 if city == "paris" and categorical else 0)
        cells = ["" if i % 17 == 0 and categorical else f"{a:.5f}"]
        cells += [city] if categorical else []
        cells += [f"{b:.5f}", f"{round(y)}" if whole else f"{y:.4f}"]
        lines.append(",".join(cells))
    return ("\n".join(lines) + "\n").encode()


def _train(db: Database, client: Any, headers: dict[str, str], content: bytes,
           **job: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    upload = client.post("/v1/datasets", files={"file": ("t.csv", content)},
                         data={"target": "y"}, headers=headers)
    assert upload.status_code in (200, 201), upload.text  # 200: uploaded before, deduplicated
    submitted = client.post("/v1/jobs", headers=headers, json={
        "dataset_id": upload.json()["id"], "training": {"epochs": 60}, **job})
    assert submitted.status_code == 202, submitted.text
    run_next_job(db)
    finished = client.get(f"/v1/jobs/{submitted.json()['id']}", headers=headers).json()
    assert finished["status"] == "succeeded", finished
    model = client.get(f"/v1/models/{finished['model_id']}", headers=headers).json()
    return upload.json(), model


def _r2(predicted: list[float], truth: np.ndarray) -> float:
    residual = np.sum((np.asarray(predicted) - truth) ** 2)
    return float(1 - residual / np.sum((truth - truth.mean()) ** 2))


def test_regression_on_a_table_scales_targets_and_standardizes_the_numeric_block(
    db: Database,
) -> None:
    client, headers = client_for(db), auth(db)
    dataset, model = _train(db, client, headers, regression_csv())
    assert dataset["target_kind"] == "values" and model["task"] == "regression"
    weights = client.get(f"/v1/models/{model['id']}/weights", headers=headers)
    with np.load(io.BytesIO(weights.content)) as npz:
        arrays = {name: npz[name] for name in npz.files}
    assert arrays["target_mean"].dtype == np.float64 and arrays["mean"].dtype == np.float64
    assert abs(float(arrays["target_mean"][0]) - 1e4) < 20
    # [a, b | indicator of a | one-hot of city (3)]: only a and b are standardized.
    assert arrays["W0"].shape[0] == 6
    np.testing.assert_array_equal(arrays["mean"][2:], 0.0)
    np.testing.assert_array_equal(arrays["scale"][2:], 1.0)
    assert np.all(np.abs(arrays["scale"][:2] - 1.0) < 0.2)  # a, b ~ N(0, 1)

    rng = np.random.default_rng(5)
    a, b = rng.normal(size=60), rng.normal(size=60)
    cities = [CITIES[i % 3] for i in range(60)]
    truth = 1e4 + 30 * a + 20 * b + 40 * np.array([c == "paris" for c in cities])
    records = [{"city": c, "b": float(bv), "a": float(av)}
               for av, bv, c in zip(a, b, cities, strict=True)]
    answer = client.post(f"/v1/models/{model['id']}/predict", json={"inputs": records},
                         headers=headers)
    assert answer.status_code == 200, answer.text
    assert _r2(answer.json()["predictions"], truth) > 0.95
    onnx = client.get(f"/v1/models/{model['id']}/onnx", headers=headers)
    assert onnx.status_code == 200, onnx.text
    session = ort.InferenceSession(onnx.content, providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == [c["name"] for c in model["columns"]]
    feeds = {"a": a.reshape(-1, 1), "b": b.reshape(-1, 1),
             "city": np.array(cities, dtype=object).reshape(-1, 1)}
    got = session.run(["output"], {i.name: feeds[i.name] for i in session.get_inputs()})[0]
    assert got.dtype == np.float64
    np.testing.assert_allclose(got[:, 0], answer.json()["predictions"], rtol=1e-5, atol=1e-5)


def test_a_whole_number_target_beside_a_text_column_trains_as_values_when_asked(
    db: Database,
) -> None:
    client, headers = client_for(db), auth(db)
    content = regression_csv(whole=True)
    upload = client.post("/v1/datasets", files={"file": ("t.csv", content)},
                         data={"target": "y"}, headers=headers)
    assert upload.json()["target_kind"] == "labels" and upload.json()["target_kind_guessed"]
    _, model = _train(db, client, headers, content, task="regression")
    assert model["task"] == "regression" and model["classes"] is None
    assert [c["kind"] for c in model["columns"]] == ["numeric", "categorical", "numeric"]
    answer = client.post(f"/v1/models/{model['id']}/predict", headers=headers,
                         json={"inputs": [{"a": 0.0, "b": 0.0, "city": "paris"}]}).json()
    assert abs(answer["predictions"][0] - 10040) < 15


def test_a_text_target_cannot_be_read_as_values(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    content = b"a,city,y\n" + b"".join(
        f"{i},{CITIES[i % 3]},{'yes' if i % 2 else 'no'}\n".encode() for i in range(40))
    upload = client.post("/v1/datasets", files={"file": ("t.csv", content)},
                         data={"target": "y"}, headers=headers)
    answer = client.post("/v1/jobs", headers=headers,
                         json={"dataset_id": upload.json()["id"], "task": "regression"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["loc"] == ["body", "task"]
    assert "regression" in answer.json()["detail"]


def test_a_numeric_table_exports_float64_onnx_matching_predict(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    _, model = _train(db, client, headers, regression_csv(categorical=False),
                      training={"epochs": 30, "dtype": "float32"})
    onnx = client.get(f"/v1/models/{model['id']}/onnx", headers=headers)
    assert onnx.status_code == 200, onnx.text
    session = ort.InferenceSession(onnx.content, providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].type == "tensor(double)"
    X = np.random.default_rng(2).normal(size=(20, 2))
    got = session.run(None, {session.get_inputs()[0].name: X})[0]
    answer = client.post(f"/v1/models/{model['id']}/predict", headers=headers,
                         json={"inputs": X.tolist()}).json()
    np.testing.assert_allclose(got[:, 0], answer["predictions"], rtol=1e-5)
