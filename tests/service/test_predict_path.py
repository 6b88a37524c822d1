"""The predict route's fast path: hostile JSON is a 400, and `store` still goes to the database."""

from __future__ import annotations

from api_helpers import auth, client_for, fake_model, row_counts, upload

from service.db import Database


def test_deeply_nested_json_is_a_400_not_a_500(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    model_id = fake_model(db, client, headers, upload(client, headers))
    before = row_counts(db)
    body = b'{"inputs": ' + b"[" * 100_000
    r = client.post(f"/v1/models/{model_id}/predict", content=body,
                    headers={**headers, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
    assert "nested too deeply" in r.json()["detail"]
    assert row_counts(db) == before


def test_stored_and_unstored_predictions_on_a_cached_model(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    model_id = fake_model(db, client, headers, upload(client, headers))
    url = f"/v1/models/{model_id}/predict"
    first = client.post(url, json={"inputs": [[0, 1]]}, headers=headers)  # loads the cache
    assert first.status_code == 200 and first.json()["prediction_id"] is None
    stored = client.post(url, json={"inputs": [[0, 1]], "store": True}, headers=headers)
    assert stored.status_code == 200
    prediction_id = stored.json()["prediction_id"]
    assert prediction_id and stored.json()["predictions"] == first.json()["predictions"]
    again = client.get(f"/v1/predictions/{prediction_id}", headers=headers).json()
    assert again["predictions"] == first.json()["predictions"]
