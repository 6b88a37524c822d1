"""API keys and tenants: no key or a revoked one → 401; another tenant's things → 404."""

from __future__ import annotations

import time

from api_helpers import auth, client_for, fake_model, row_counts, upload

from service import tables
from service.auth import hash_key
from service.db import Database
from service.keys import create_key, ensure_initial_key, list_keys, revoke_key


def test_missing_bad_and_revoked_keys_are_401(db: Database) -> None:
    client = client_for(db)
    for headers in ({}, {"Authorization": "Bearer dk_nope"}, {"Authorization": "Basic eDp5"}):
        r = client.get("/v1/datasets", headers=headers)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert r.headers["content-type"] == "application/problem+json"
    key_id, key = create_key(db, tenant="acme", label="ci")
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/v1/datasets", headers=headers).status_code == 200
    assert revoke_key(db, key_id=key_id)
    deadline = time.monotonic() + 10  # within a second (service.key_cache); generous here
    while (r := client.get("/v1/datasets", headers=headers)).status_code == 200:
        assert time.monotonic() < deadline, "the revoked key still works"
        time.sleep(0.02)
    assert r.status_code == 401
    dataset_id = upload(client, auth(db, "acme"))
    model_id = fake_model(db, client, auth(db, "acme"), dataset_id)
    assert client.post(f"/v1/models/{model_id}/predict", headers=headers,
                       json={"inputs": [[0, 1]]}).status_code == 401


def test_keys_are_stored_hashed(db: Database) -> None:
    key_id, key = create_key(db, tenant="acme")
    with db.read() as session:
        row = session.get(tables.ApiKey, key_id)
        assert row is not None and row.key_hash == hash_key(key) and key not in row.key_hash
    assert [k.tenant for k in list_keys(db)] == ["acme"]


def test_initial_key(db: Database) -> None:
    assert ensure_initial_key(db, bootstrap_key="dk_bootstrap") is None
    client = client_for(db)
    assert client.get("/v1/jobs", headers={"Authorization": "Bearer dk_bootstrap"}).is_success
    assert ensure_initial_key(db, bootstrap_key=None) is None  # a key exists already


def test_generated_initial_key(db: Database) -> None:
    key = ensure_initial_key(db, bootstrap_key=None)
    assert key and key.startswith("dk_")
    assert client_for(db).get("/v1/jobs", headers={"Authorization": f"Bearer {key}"}).is_success


def test_tenants_cannot_see_each_other(db: Database) -> None:
    client = client_for(db)
    alice, bob = auth(db, "alice"), auth(db, "bob")
    dataset_id = upload(client, alice)
    model_id = fake_model(db, client, alice, dataset_id)
    job_id = client.post("/v1/jobs", json={"dataset_id": dataset_id}, headers=alice).json()["id"]
    prediction_id = client.post(f"/v1/models/{model_id}/predict", headers=alice,
                                json={"inputs": [[0, 1]], "store": True}).json()["prediction_id"]
    # Warm the model cache as alice: bob must still get 404 from it.
    before = row_counts(db)
    for method, url, body in [
        ("GET", f"/v1/datasets/{dataset_id}", None),
        ("DELETE", f"/v1/datasets/{dataset_id}", None),
        ("GET", f"/v1/jobs/{job_id}", None),
        ("GET", f"/v1/jobs/{job_id}/history", None),
        ("GET", f"/v1/jobs/{job_id}/events", None),
        ("POST", f"/v1/jobs/{job_id}/cancel", None),
        ("GET", f"/v1/models/{model_id}", None),
        ("GET", f"/v1/models/{model_id}/weights", None),
        ("POST", f"/v1/models/{model_id}/predict", {"inputs": [[0, 1]]}),
        ("POST", f"/v1/models/{model_id}/batch-predictions", {"dataset_id": dataset_id}),
        ("GET", f"/v1/predictions/{prediction_id}", None),
        ("POST", "/v1/jobs", {"dataset_id": dataset_id}),
        ("POST", "/v1/jobs/estimate", {"dataset_id": dataset_id}),
    ]:
        r = client.request(method, url, json=body, headers=bob)
        assert r.status_code == 404, (method, url, r.status_code, r.text)
    assert row_counts(db) == before
    for listing in ("/v1/datasets", "/v1/jobs", "/v1/models"):
        assert client.get(listing, headers=bob).json() == {"data": [], "next": None}
        assert client.get(listing, headers=alice).json()["data"]
    # The same content uploaded by bob is his own dataset, not alice's.
    own = client.post("/v1/datasets", json={"features": [[0, 0], [0, 1]], "targets": [0, 1]},
                      headers=bob)
    assert own.status_code == 201
    mine = client.post("/v1/datasets", json={"features": [[0, 0], [0, 1]], "targets": [0, 1]},
                       headers=alice)
    assert mine.status_code == 201 and mine.json()["id"] != own.json()["id"]
