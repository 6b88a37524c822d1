"""Named models on SQLite and PostgreSQL: PATCH sets name, description and tags; aliases are
set, moved, read, listed and deleted per tenant; predicting by alias answers as the aliased
model's predict (and follows a move at once, also while requests are in flight, over real
HTTP); a model is deleted with its predictions and evaluations, but not while an alias names
it or a queued job needs it (409)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import uvicorn
from api_helpers import auth, client_for, fake_model, row_counts, upload

from service import artifacts, tables
from service.app import create_app
from service.db import Database
from service.repository import aliases as alias_store
from service.settings import Settings
from tests.processes import free_port
from worker.nn import Network

ROWS = {"inputs": [[0, 0], [0, 1], [1, 0], [1, 1]]}


def two_models(db: Database, client: Any, headers: dict[str, str]) -> tuple[str, str]:
    """Two models of the XOR table with different random weights (seeds 1 and 2)."""
    dataset_id = upload(client, headers)
    models = []
    for seed in (1, 2):
        model_id = fake_model(db, client, headers, dataset_id)
        with db.write() as session:
            row = session.get(tables.Model, model_id)
            assert row is not None
            net = Network.from_spec(row.spec["network"], 2, 2, task="classification", seed=seed)
            row.weights, row.weights_sha256 = artifacts.encode_weights(net.params, None)
        models.append(model_id)
    return models[0], models[1]


def test_patch_sets_name_description_and_tags(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    model_id = fake_model(db, client, headers, upload(client, headers))
    fresh = client.get(f"/v1/models/{model_id}", headers=headers).json()
    assert (fresh["name"], fresh["description"], fresh["tags"]) == (None, None, [])
    assert fresh["parent_model_id"] is None

    url = f"/v1/models/{model_id}"
    named = client.patch(url, json={"name": "churn v2", "tags": ["prod", "q4", "prod"]},
                         headers=headers)
    assert named.status_code == 200, named.text
    assert (named.json()["name"], named.json()["tags"]) == ("churn v2", ["prod", "q4"])
    # Fields left out stay; null clears.
    described = client.patch(url, json={"description": "first line\nsecond"}, headers=headers)
    assert described.json()["name"] == "churn v2"
    assert described.json()["description"] == "first line\nsecond"
    cleared = client.patch(url, json={"name": None, "tags": None}, headers=headers).json()
    assert (cleared["name"], cleared["tags"], cleared["description"]) == (
        None, [], "first line\nsecond")
    assert client.get(url, headers=headers).json()["description"] == "first line\nsecond"

    for body, field in (({"name": "x" * 201}, "name"), ({"tags": [""]}, "tags"),
                        ({"name": "a\tb"}, "name"), ({"colour": "red"}, "colour"),
                        ({"tags": ["t"] * 51}, "tags")):
        refused = client.patch(url, json=body, headers=headers)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.json()["errors"][0]["loc"][:2] == ["body", field], refused.text
    other = auth(db, tenant="other")
    assert client.patch(url, json={"name": "mine"}, headers=other).status_code == 404
    assert client.get(url, headers=headers).json()["name"] is None

    # The list finds models by name and by tag.
    twin = fake_model(db, client, headers, upload(client, headers))
    client.patch(url, json={"name": "churn", "tags": ["prod", "q4"]}, headers=headers)
    client.patch(f"/v1/models/{twin}", json={"name": "churn", "tags": ["q4"]}, headers=headers)

    def listed(**query: str) -> list[str]:
        answer = client.get("/v1/models", params=query, headers=headers)
        assert answer.status_code == 200, answer.text
        return [m["id"] for m in answer.json()["data"]]

    assert listed(name="churn") == [twin, model_id]
    assert listed(tag="prod") == [model_id] and listed(tag="q4") == [twin, model_id]
    assert listed(tag="pro") == [] and listed(name="churn", tag="prod") == [model_id]
    assert listed(tag="a\x00b") == [] and listed(name="nope") == []
    assert client.get("/v1/models", params={"tag": "prod"}, headers=other).json()["data"] == []


def test_aliases_are_set_moved_read_and_deleted_per_tenant(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    first, second = two_models(db, client, headers)
    url = "/v1/models/aliases/production"
    assert client.get(url, headers=headers).status_code == 404
    created = client.put(url, json={"model_id": first}, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["model_id"] == first
    answer = client.post("/v1/models/by-alias/production/predict", json=ROWS, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Model-ID"] == first
    assert answer.json() == client.post(f"/v1/models/{first}/predict", json=ROWS,
                                        headers=headers).json()

    moved = client.put(url, json={"model_id": second}, headers=headers)
    assert moved.status_code == 200 and moved.json()["model_id"] == second
    assert moved.json()["created_at"] == created.json()["created_at"]
    after = client.post("/v1/models/by-alias/production/predict", json=ROWS, headers=headers)
    assert after.headers["X-Model-ID"] == second  # the cache follows the move at once
    assert after.json() == client.post(f"/v1/models/{second}/predict", json=ROWS,
                                       headers=headers).json()
    client.put("/v1/models/aliases/staging", json={"model_id": second}, headers=headers)
    listed = client.get("/v1/models/aliases", headers=headers).json()["data"]
    assert [(a["alias"], a["model_id"]) for a in listed] == [("production", second),
                                                              ("staging", second)]
    for model_id in (first, "mdl_\x00", "x" * 300):
        only = client.get("/v1/models/aliases", params={"model_id": model_id}, headers=headers)
        assert only.status_code == 200 and only.json()["data"] == [], only.text
    assert client.get(url, headers=headers).json()["model_id"] == second

    # Another tenant sees none of it, and cannot point an alias at our model.
    other = auth(db, tenant="other")
    assert client.get(url, headers=other).status_code == 404
    assert client.get("/v1/models/aliases", headers=other).json()["data"] == []
    assert client.post("/v1/models/by-alias/production/predict", json=ROWS,
                       headers=other).status_code == 404
    assert client.put(url, json={"model_id": first}, headers=other).status_code == 404
    # Bad names and bodies.
    for alias in ("-lead", "a b", "x" * 65, "pro%2Fd"):
        bad = client.put(f"/v1/models/aliases/{alias}", json={"model_id": first},
                         headers=headers)
        assert bad.status_code in (404, 422), (alias, bad.text)
    bad = client.put("/v1/models/aliases/ok", json={"model_id": first, "x": 1}, headers=headers)
    assert bad.status_code == 422
    assert client.put("/v1/models/aliases/ok", json={"model_id": "mdl_nope"},
                      headers=headers).status_code == 404

    assert client.delete(url, headers=headers).status_code == 204
    assert client.delete(url, headers=headers).status_code == 404
    by_alias = client.get("/openapi.json").json()["paths"]["/v1/models/by-alias/{alias}/predict"]
    assert set(by_alias["post"]["requestBody"]["content"]) == {  # as predict by id
        "application/json", "application/x-npy", "application/vnd.apache.arrow.stream"}
    assert client.post("/v1/models/by-alias/production/predict", json=ROWS,
                       headers=headers).status_code == 404


def test_a_tenant_has_at_most_max_aliases_and_a_409_names_a_few(
    db: Database, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(alias_store, "MAX_ALIASES", 25)  # 1,000 in production
    client, headers = client_for(db), auth(db)
    model_id = fake_model(db, client, headers, upload(client, headers))
    for i in range(25):
        r = client.put(f"/v1/models/aliases/a{i:02}", json={"model_id": model_id},
                       headers=headers)
        assert r.status_code == 201, r.text
    over = client.put("/v1/models/aliases/one-more", json={"model_id": model_id},
                      headers=headers)
    assert over.status_code == 409 and "25 model aliases" in over.json()["detail"]
    moved = client.put("/v1/models/aliases/a00", json={"model_id": model_id}, headers=headers)
    assert moved.status_code == 200  # moving one is not creating one
    refused = client.delete(f"/v1/models/{model_id}", headers=headers).json()["detail"]
    assert "'a19' and 5 more" in refused and "'a20'" not in refused
    other = auth(db, tenant="other")  # the limit is per tenant
    theirs = fake_model(db, client, other, upload(client, other))
    assert client.put("/v1/models/aliases/x", json={"model_id": theirs},
                      headers=other).status_code == 201


def test_delete_refuses_an_aliased_or_busy_model_and_removes_what_hangs_on_it(
    db: Database,
) -> None:
    client, headers = client_for(db), auth(db)
    dataset_id = upload(client, headers)
    model_id = fake_model(db, client, headers, dataset_id)
    client.put("/v1/models/aliases/production", json={"model_id": model_id}, headers=headers)
    refused = client.delete(f"/v1/models/{model_id}", headers=headers)
    assert refused.status_code == 409 and "'production'" in refused.json()["detail"]
    client.delete("/v1/models/aliases/production", headers=headers)

    # A queued batch prediction needs it: 409 until the job is cancelled.
    job = client.post(f"/v1/models/{model_id}/batch-predictions", json={"dataset_id": dataset_id},
                      headers=headers).json()
    assert client.delete(f"/v1/models/{model_id}", headers=headers).status_code == 409
    client.post(f"/v1/jobs/{job['id']}/cancel", headers=headers)

    stored = client.post(f"/v1/models/{model_id}/predict", json={**ROWS, "store": True},
                         headers=headers).json()["prediction_id"]
    evaluation = client.post(f"/v1/models/{model_id}/evaluations",
                             json={"dataset_id": dataset_id}, headers=headers)
    assert evaluation.status_code == 201, evaluation.text
    other = auth(db, tenant="other")
    assert client.delete(f"/v1/models/{model_id}", headers=other).status_code == 404
    before = row_counts(db)
    assert client.delete(f"/v1/models/{model_id}", headers=headers).status_code == 204
    after = row_counts(db)
    assert (before["models"] - after["models"], before["predictions"] - after["predictions"],
            before["prediction_rows"] - after["prediction_rows"]) == (1, 1, 4)
    with db.read() as session:
        assert session.get(tables.Evaluation, evaluation.json()["id"]) is None
    for path in (f"/v1/models/{model_id}", f"/v1/predictions/{stored}",
                 f"/v1/evaluations/{evaluation.json()['id']}"):
        assert client.get(path, headers=headers).status_code == 404, path
    # Evicted from the predict cache too; the job that trained it still says which it was.
    assert client.post(f"/v1/models/{model_id}/predict", json=ROWS,
                       headers=headers).status_code == 404
    assert client.get(f"/v1/datasets/{dataset_id}", headers=headers).status_code == 200


@pytest.fixture
def served(db: Database) -> Iterator[str]:
    """The app over ``db`` behind a real uvicorn on a free port (a thread of this process)."""
    app = create_app(db=db, settings=Settings(database_url=db.url))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_predicts_during_alias_moves_never_fail_and_answer_from_one_model(
    db: Database, served: str
) -> None:
    headers = auth(db)
    with httpx.Client(base_url=served, headers=headers, timeout=30) as http:
        first, second = two_models(db, _Sync(http), headers)
        expected = {m: http.post(f"/v1/models/{m}/predict", json=ROWS).json() for m in
                    (first, second)}
        assert expected[first] != expected[second]  # two different random networks
        assert http.put("/v1/models/aliases/production", json={"model_id": first}).is_success

        stop, answered_by = threading.Event(), set()

        def predict_until_stopped() -> list[tuple[int, str, Any]]:
            seen = []
            with httpx.Client(base_url=served, headers=headers, timeout=30) as own:
                while not stop.is_set() or not seen:
                    r = own.post("/v1/models/by-alias/production/predict", json=ROWS)
                    seen.append((r.status_code, r.headers.get("X-Model-ID", ""),
                                 r.json() if r.status_code == 200 else r.text))
                    answered_by.add(seen[-1][1])
            return seen

        with ThreadPoolExecutor(4) as pool:
            running = [pool.submit(predict_until_stopped) for _ in range(4)]
            moves, deadline = 0, time.monotonic() + 60
            # At least 30 moves, and on until requests have been answered by both models.
            while moves < 30 or (len(answered_by) < 2 and time.monotonic() < deadline):
                target = second if moves % 2 == 0 else first
                moved = http.put("/v1/models/aliases/production", json={"model_id": target})
                assert moved.status_code == 200, moved.text
                moves += 1
            http.put("/v1/models/aliases/production", json={"model_id": first})
            stop.set()
            answers = [a for future in running for a in future.result()]
        assert all(status == 200 for status, _, _ in answers), answers[:3]
        assert all(body == expected[model] for _, model, body in answers)
        assert {model for _, model, _ in answers} == {first, second}, len(answers)
        # After the last move (to first), every answer is first's.
        final = http.post("/v1/models/by-alias/production/predict", json=ROWS)
        assert final.headers["X-Model-ID"] == first
        assert http.delete(f"/v1/models/{first}").status_code == 409


class _Sync:
    """``fake_model`` takes a TestClient; an httpx.Client with our base URL does the same."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        kwargs.pop("headers", None)
        return self.http.post(path, **kwargs)
