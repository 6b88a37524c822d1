"""Bad input: every rejection is a 4xx problem+json that names the problem and stores nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from api_helpers import XOR, TestClient, auth, client_for, fake_model, row_counts, upload

from service.db import Database


@pytest.fixture
def api(db: Database) -> Iterator[tuple[TestClient, dict[str, str], str, str]]:
    client, headers = client_for(db, max_upload_bytes=20_000), auth(db)
    dataset_id = upload(client, headers)
    model_id = fake_model(db, client, headers, dataset_id)
    yield client, headers, dataset_id, model_id


def _rejected(db: Database, send: Any, status: int, *needles: str) -> dict[str, Any]:
    before = row_counts(db)
    response = send()
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status and problem["title"]
    assert problem["type"] == "about:blank"  # RFC 9457: the status is the kind of problem
    text = (problem["detail"] + " " + str(problem["errors"])).lower()
    for needle in needles:
        assert needle.lower() in text, problem
    assert row_counts(db) == before
    return problem


JSON_CASES = [
    ({"features": [[1, 2], [3, float("nan")]], "targets": [0, 1]}, "row"),
    ({"features": [[1, 2], [3, float("inf")]], "targets": [0, 1]}, "row"),
    ({"features": [[1, 2], [3]], "targets": [0, 1]}, "row"),
    ({"features": [[1, 2], [3, "x"]], "targets": [0, 1]}, "row"),
    ({"features": [[1, 2]], "targets": [0]}, "at least 2"),
    ({"features": [[1, 2], [3, 4]], "targets": [0]}, "targets"),
]


@pytest.mark.parametrize(("body", "needle"), JSON_CASES)
def test_bad_json_datasets(db: Database, api: Any, body: dict[str, Any], needle: str) -> None:
    client, headers, *_ = api
    # json.dumps would refuse NaN with allow_nan=False; send it as JavaScript-style JSON.
    import json

    content = json.dumps(body)
    _rejected(db, lambda: client.post("/v1/datasets", content=content, headers={
        **headers, "Content-Type": "application/json"}), 422, needle)


def test_bad_csv(db: Database, api: Any) -> None:
    client, headers, *_ = api
    post = client.post

    def send(csv: bytes, target: str = "y", kinds: str = "") -> Any:
        return lambda: post("/v1/datasets", files={"file": ("d.csv", csv)},
                            data={"target": target, "column_kinds": kinds}, headers=headers)

    # (text makes a column categorical unless column_kinds says it is numeric)
    _rejected(db, send(b"a,b,y\n1,2,0\n3,oops,1\n", kinds='{"b": "numeric"}'), 422, "row 2",
              "'b'")
    _rejected(db, send(b"a,b,y\n1,2,0\n3,4,1\n", kinds='{"b": "text"}'), 422, "column_kinds")
    _rejected(db, send(b"a,b,y\n1,2,0\n3,4,1\n", target="label"), 422, "label")
    _rejected(db, send(b"a,b,y\n1,2,0\n3,4\n"), 422, "row")
    _rejected(db, send(b"a,b,y\n1,2,0\n3,nan,1\n"), 422, "row")


def test_wrong_content_type_and_oversized(db: Database, api: Any) -> None:
    client, headers, *_ = api
    _rejected(db, lambda: client.post("/v1/datasets", content=b"a,b\n1,2\n",
                                      headers={**headers, "Content-Type": "text/csv"}), 415)
    big = {"features": [[float(i), 1.0] for i in range(3000)], "targets": [0, 1] * 1500}
    _rejected(db, lambda: client.post("/v1/datasets", json=big, headers=headers), 413, "limit")

    def chunked() -> Iterator[bytes]:  # no Content-Length: counted while reading
        yield b'{"features": ['
        for i in range(3000):
            yield f"[{i}, 1.0],".encode()
        yield b'[0, 0]], "targets": []}'

    _rejected(db, lambda: client.post("/v1/datasets", content=chunked(), headers={
        **headers, "Content-Type": "application/json"}), 413)
    _rejected(db, lambda: client.post("/v1/datasets", content=b"{not json",
                                      headers={**headers, "Content-Type": "application/json"}),
              400, "json")


def test_bad_job_specs(db: Database, api: Any) -> None:
    client, headers, dataset_id, _ = api

    def submit(**fields: Any) -> Any:
        return lambda: client.post("/v1/jobs", json={"dataset_id": dataset_id, **fields},
                                   headers=headers)

    relux = {"hidden_layers": [{"units": 8, "activation": "relux"}]}
    where = "network.hidden_layers.0.activation"
    problem = _rejected(db, submit(network=relux), 422, where, "relu")
    assert problem["errors"][0]["loc"] == ["body", "network", "hidden_layers", 0, "activation"]
    _rejected(db, submit(network={"hidden_layers": [{"units": -3, "activation": "relu"}]}),
              422, "units")
    _rejected(db, submit(network={"output_activation": "sigmoid", "loss": "cross_entropy"}),
              422, "softmax")
    _rejected(db, submit(training={"epochs": 10**9}), 422, "epochs")
    _rejected(db, lambda: client.post("/v1/jobs", json={"dataset_id": "ds_nope"},
                                      headers=headers), 404, "ds_nope")
    targetless = upload(client, headers, {"features": [[1.0], [2.0]]})
    _rejected(db, lambda: client.post("/v1/jobs", json={"dataset_id": targetless},
                                      headers=headers), 422, "target")
    _rejected(db, lambda: client.post("/v1/jobs/estimate", json={
        "dataset_id": dataset_id, "training": {"optimizer": {"name": "adamw"}}},
        headers=headers), 422, "optimizer")


def test_bad_predict_inputs(db: Database, api: Any) -> None:
    client, headers, _, model_id = api
    url = f"/v1/models/{model_id}/predict"

    def predict(body: Any) -> Any:
        return lambda: client.post(url, json=body, headers=headers)

    _rejected(db, predict({"inputs": [[1, 2, 3]]}), 422, "2")
    _rejected(db, predict({"inputs": []}), 422, "inputs")
    _rejected(db, predict({"inputs": [[1, "x"]]}), 422, "inputs")
    _rejected(db, predict({"rows": [[1, 2]]}), 422, "inputs")
    _rejected(db, predict({"inputs": [[1, 2]], "store": "yes"}), 422, "store")
    _rejected(db, lambda: client.post(url, content=b"[[1,2]", headers={
        **headers, "Content-Type": "application/json"}), 400, "json")
    _rejected(db, lambda: client.post(url, content=b"1,2", headers={
        **headers, "Content-Type": "text/csv"}), 415)
    _rejected(db, lambda: client.post(url, content='{"inputs": [[1, NaN]]}', headers={
        **headers, "Content-Type": "application/json"}), 422)


def test_unknown_routes_methods_and_crashes(db: Database, api: Any) -> None:
    client, headers, *_ = api
    _rejected(db, lambda: client.get("/v1/nothing", headers=headers), 404)
    _rejected(db, lambda: client.put("/v1/datasets", headers=headers), 405)
    _rejected(db, lambda: client.get("/v1/jobs/job_missing", headers=headers), 404, "job_missing")

    def boom() -> None:
        raise RuntimeError("secret internals")

    client.app.add_api_route("/boom", boom)  # type: ignore[attr-defined]
    response = client.get("/boom")
    assert response.status_code == 500 and "secret" not in response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["request_id"] == response.headers["x-request-id"]


def test_datasets_json_unknown_field(db: Database, api: Any) -> None:
    client, headers, *_ = api
    _rejected(db, lambda: client.post("/v1/datasets", json={**XOR, "colour": 1},
                                      headers=headers), 422, "colour")


def test_the_schema_documents_about_blank_problem_types(api: Any) -> None:
    client = api[0]
    schema = client.get("/openapi.json").json()
    problem_type = schema["components"]["schemas"]["Problem"]["properties"]["type"]
    assert problem_type["default"] == "about:blank" and problem_type["examples"] == ["about:blank"]
    assert "descent.dev" not in json.dumps(schema)
    missing = client.get("/no/such/path")
    assert (missing.status_code, missing.json()["type"]) == (404, "about:blank")
