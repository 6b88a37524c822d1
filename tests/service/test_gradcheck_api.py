"""``POST /v1/jobs/gradcheck``: backprop agrees with central differences for every pairing the
spec allows on a sample of digits, a wrong derivative is reported, and the limits are 422."""

from __future__ import annotations

from typing import Any

import pytest
from api_helpers import auth, client_for, upload
from sklearn.datasets import load_digits

from service.db import Database
from worker.nn.activations import DERIVATIVES
from worker.spec import HIDDEN_ACTIVATIONS

# Every output activation with mse, and each classification loss with the activation it needs.
OUTPUT_PAIRS = [("identity", "mse"), ("sigmoid", "mse"), ("tanh", "mse"), ("relu", "mse"),
                ("softmax", "mse"), ("softmax", "cross_entropy"),
                ("sigmoid", "binary_cross_entropy")]


def _digits(rows: int = 300) -> dict[str, Any]:
    X, y = load_digits(return_X_y=True)
    return {"name": "digits", "features": X[:rows].tolist(), "targets": y[:rows].tolist()}


def _body(dataset_id: str, hidden: list[str], output: str, loss: str,
          **training: Any) -> dict[str, Any]:
    return {"dataset_id": dataset_id, "training": {"seed": 7, **training},
            "network": {"hidden_layers": [{"units": 12, "activation": a} for a in hidden],
                        "output_activation": output, "loss": loss}}


def _check(client: Any, headers: dict[str, str], body: dict[str, Any],
           query: str = "") -> dict[str, Any]:
    r = client.post(f"/v1/jobs/gradcheck{query}", json=body, headers=headers)
    assert r.status_code == 200, r.text
    report: dict[str, Any] = r.json()
    return report


def test_every_pairing_passes_on_digits(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    dataset_id = upload(client, headers, _digits())
    hidden = list(HIDDEN_ACTIVATIONS)
    for i, (output, loss) in enumerate(OUTPUT_PAIRS):
        stack = [hidden[i % len(hidden)], hidden[(i + 1) % len(hidden)]]
        report = _check(client, headers, _body(dataset_id, stack, output, loss))
        assert report["passed"], (output, loss, report)
        assert [layer["layer"] for layer in report["layers"]] == [1, 2, 3]
        assert [layer["shape"] for layer in report["layers"]] == [[64, 12], [12, 12], [12, 10]]
        assert [layer["activation"] for layer in report["layers"]] == [*stack, output]
        assert all(layer["checked"] == 20 and layer["max_relative_error"] < 1e-6
                   for layer in report["layers"])
        assert report["rows"] == 64 and report["dtype"] == "float64"
    # Every hidden activation, with dropout and class weights as training applies them.
    body = _body(dataset_id, hidden, "softmax", "cross_entropy", class_weight="balanced")
    for layer in body["network"]["hidden_layers"][::2]:
        layer["dropout"] = 0.3
    report = _check(client, headers, body, "?rows=32&parameters=5")
    assert report["passed"] and report["rows"] == 32, report
    assert [layer["checked"] for layer in report["layers"]] == [10] * 7


def test_a_wrong_derivative_fails_its_layer(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    client, headers = client_for(db), auth(db)
    dataset_id = upload(client, headers, _digits())
    body = _body(dataset_id, ["tanh", "relu"], "softmax", "cross_entropy")
    assert _check(client, headers, body)["passed"]
    # The test double: backprop uses sigmoid's derivative for tanh units (layer 1 only).
    monkeypatch.setitem(DERIVATIVES, "tanh", DERIVATIVES["sigmoid"])
    report = _check(client, headers, body)
    assert not report["passed"]
    assert [layer["passed"] for layer in report["layers"]] == [False, True, True]
    assert report["layers"][0]["max_relative_error"] > 1e-2


def test_limits_and_tenants(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    dataset_id = upload(client, headers, _digits(100))
    body = _body(dataset_id, ["relu"], "softmax", "cross_entropy")
    r = client.post("/v1/jobs/gradcheck?rows=257", json=body, headers=headers)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "rows"], r.text
    big = {**body, "network": {"hidden_layers": [{"units": 20_000}]}}
    r = client.post("/v1/jobs/gradcheck", json=big, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["body", "network", "hidden_layers"]
    assert "1,000,000" in r.text
    wide = {**body, "network": {"hidden_layers": [{"units": 4096}]}}
    r = client.post("/v1/jobs/gradcheck?rows=256", json=wide, headers=headers)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "rows"], r.text
    assert "multiply-adds" in r.text
    other = auth(db, tenant="globex")
    r = client.post("/v1/jobs/gradcheck", json=body, headers=other)
    assert r.status_code == 404, r.text


def test_checks_beyond_the_concurrency_limit_are_429_with_retry_after(db: Database) -> None:
    # Each check decodes its dataset whole in the API process: the slots bound how many at once.
    client, headers = client_for(db, gradcheck_concurrency=1), auth(db)
    dataset_id = upload(client, headers, _digits(60))
    body = _body(dataset_id, ["tanh"], "softmax", "cross_entropy")
    assert _check(client, headers, body)["passed"]  # makes the slots, then frees its own
    slots = client.app.state.gradcheck_slots  # type: ignore[attr-defined]
    assert slots.acquire(blocking=False)  # a check in flight elsewhere holds the only slot
    try:
        r = client.post("/v1/jobs/gradcheck", json=body, headers=headers)
        assert r.status_code == 429, r.text
        assert r.headers["Retry-After"] == "2"
        assert "DESCENT_GRADCHECK_CONCURRENCY" in r.json()["detail"]
    finally:
        slots.release()
    assert _check(client, headers, body)["passed"]


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_initial_weights_are_422_naming_the_cell_and_value(
        db: Database, token: str) -> None:
    client, headers = client_for(db), auth(db)
    dataset_id = upload(client, headers)
    body = ('{"dataset_id": "DS", "network": {"hidden_layers": [], "initial_weights": '
            '[{"W": [[0.5, 1], [1, TOKEN]], "b": [0, 0]}]}}').replace(
                "DS", dataset_id).replace("TOKEN", token)
    for path in ("/v1/jobs", "/v1/jobs/gradcheck"):
        r = client.post(path, content=body,
                        headers={**headers, "Content-Type": "application/json"})
        assert r.status_code == 422, r.text
        error = r.json()["errors"][0]
        assert error["loc"] == ["body", "network", "initial_weights", 0, "W", 1, 1]
        assert error["msg"].endswith(f"got {float(token)!r}"), error  # it said "got None"
