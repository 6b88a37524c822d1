"""Per-layer diagnostics through the API: stored with the history (``?diagnostics=true``),
left out of it by default, and the latest epoch's warnings shown on the job."""

from __future__ import annotations

import json
import uuid

from api_helpers import auth, client_for, upload

from service import queue
from service.db import Database
from worker.jobs import JobContext
from worker.runner import run_and_report


def test_history_carries_diagnostics_and_the_job_its_warnings(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    dataset_id = upload(client, headers)
    hidden = [{"units": 8, "activation": "sigmoid"}] * 8
    body = {"dataset_id": dataset_id, "network": {"hidden_layers": hidden},
            "training": {"epochs": 3, "validation_split": None, "early_stopping": None}}
    job_id = client.post("/v1/jobs", json=body, headers=headers).json()["id"]
    job = queue.claim_next_job(db, worker_id=str(uuid.uuid4()), lease_seconds=60)
    assert job is not None and job.id == job_id
    assert run_and_report(JobContext(db=db, job=job, checkpoint_seconds=0.0)) == 0

    plain = client.get(f"/v1/jobs/{job_id}/history", headers=headers).json()["data"]
    assert len(plain) == 3 and all("diagnostics" not in row for row in plain)
    rows = client.get(f"/v1/jobs/{job_id}/history?diagnostics=true",
                      headers=headers).json()["data"]
    layers = rows[-1]["diagnostics"]["layers"]
    assert [layer["layer"] for layer in layers] == list(range(1, 10))
    assert layers[0]["activation"] == "sigmoid" and layers[0]["dead"] is None
    assert all(layer["grad_norm"] >= 0 and layer["weight_norm"] > 0 for layer in layers)

    shown = client.get(f"/v1/jobs/{job_id}", headers=headers).json()
    assert shown["status"] == "succeeded"
    assert "warnings" not in shown["metrics"]
    assert shown["warnings"] == rows[-1]["diagnostics"]["warnings"]
    assert any(w.startswith("vanishing gradients in layer 1") for w in shown["warnings"])
    model = client.get(f"/v1/models/{shown['model_id']}", headers=headers).json()
    assert "diagnostics" not in model["metrics"] and "warnings" not in model["metrics"]

    stream = client.get(f"/v1/jobs/{job_id}/events", headers=headers).text
    events = [block.splitlines() for block in stream.split("\n\n")]
    epochs = [json.loads(line[len("data: "):]) for lines in events if "event: epoch" in lines
              for line in lines if line.startswith("data: ")]
    assert [e["diagnostics"] for e in epochs] == [r["diagnostics"] for r in rows]


def test_diagnostics_off_leaves_no_block_and_no_warnings(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    dataset_id = upload(client, headers)
    body = {"dataset_id": dataset_id, "training": {"epochs": 2, "diagnostics": False}}
    job_id = client.post("/v1/jobs", json=body, headers=headers).json()["id"]
    job = queue.claim_next_job(db, worker_id=str(uuid.uuid4()), lease_seconds=60)
    assert job is not None
    assert run_and_report(JobContext(db=db, job=job, checkpoint_seconds=0.0)) == 0
    rows = client.get(f"/v1/jobs/{job_id}/history?diagnostics=true",
                      headers=headers).json()["data"]
    assert all("diagnostics" not in row for row in rows)
    assert client.get(f"/v1/jobs/{job_id}", headers=headers).json()["warnings"] == []
