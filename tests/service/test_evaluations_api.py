"""Evaluations on SQLite and PostgreSQL: a table model's report inline and by an evaluate job
(the same numbers), kept and listed per tenant; a dataset lacking a column is a 422 naming it."""

from __future__ import annotations

import io

from api_helpers import auth, client_for
from test_tables_api import run_next_job, table_csv, trained

from service.db import Database


def test_inline_and_job_reports_agree_and_stay_with_their_tenant(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    dataset_id, model_id = trained(db, client, headers)
    model = client.get(f"/v1/models/{model_id}", headers=headers).json()
    validation = model["evaluation"]
    assert validation["task"] == "classification" and validation["n_rows"] > 0
    assert sum(map(sum, validation["confusion_matrix"])) == validation["n_rows"]

    inline = client.post(f"/v1/models/{model_id}/evaluations", json={"dataset_id": dataset_id},
                         headers=headers)
    assert inline.status_code == 201, inline.text
    assert inline.json()["status"] == "succeeded" and inline.json()["job_id"] is None
    queued = client_for(db, evaluate_inline_rows=0).post(
        f"/v1/models/{model_id}/evaluations", json={"dataset_id": dataset_id}, headers=headers)
    assert queued.status_code == 202, queued.text
    assert queued.json()["status"] == "queued" and queued.json()["report"] is None
    job = client.get(f"/v1/jobs/{queued.json()['job_id']}", headers=headers).json()
    assert job["kind"] == "evaluate"
    run_next_job(db)
    done = client.get(f"/v1/evaluations/{queued.json()['id']}", headers=headers).json()
    assert done["status"] == "succeeded"
    assert done["report"] == inline.json()["report"]
    listed = client.get(f"/v1/models/{model_id}/evaluations", headers=headers).json()["data"]
    assert [e["id"] for e in listed] == [queued.json()["id"], inline.json()["id"]]

    other = auth(db, tenant="other")
    assert client.get(f"/v1/evaluations/{done['id']}", headers=other).status_code == 404
    assert client.get(f"/v1/models/{model_id}/evaluations", headers=other).status_code == 404


def test_a_dataset_lacking_a_column_is_refused_naming_it(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    _, model_id = trained(db, client, headers)
    lines = table_csv().decode().splitlines()
    header = lines[0].split(",")
    keep = [i for i, name in enumerate(header) if name != "shape"]
    text = "\n".join(",".join(line.split(",")[i] for i in keep) for line in lines) + "\n"
    upload = client.post("/v1/datasets", files={"file": ("t.csv", io.BytesIO(text.encode()))},
                         data={"target": "label"}, headers=headers)
    assert upload.status_code == 201, upload.text
    refused = client.post(f"/v1/models/{model_id}/evaluations",
                          json={"dataset_id": upload.json()["id"]}, headers=headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["loc"] == ["body", "dataset_id"]
    assert "'shape'" in refused.json()["detail"]


def test_a_small_evaluation_is_queued_when_the_inline_slots_are_busy(db: Database) -> None:
    # Each inline evaluation decodes its dataset whole in the API process: the slots bound them.
    client, headers = client_for(db, evaluate_inline_concurrency=1), auth(db)
    dataset_id, model_id = trained(db, client, headers)
    url, body = f"/v1/models/{model_id}/evaluations", {"dataset_id": dataset_id}
    first = client.post(url, json=body, headers=headers)
    assert first.status_code == 201, first.text  # makes the slots, then frees its own
    slots = client.app.state.evaluate_slots  # type: ignore[attr-defined]
    assert slots.acquire(blocking=False)  # an evaluation in flight holds the only slot
    try:
        queued = client.post(url, json=body, headers=headers)
    finally:
        slots.release()
    assert queued.status_code == 202, queued.text
    assert queued.json()["status"] == "queued" and queued.json()["job_id"]
    run_next_job(db)
    done = client.get(f"/v1/evaluations/{queued.json()['id']}", headers=headers).json()
    assert done["report"] == first.json()["report"]
    assert client.post(url, json=body, headers=headers).status_code == 201
