"""The training controls through the API: each round-trips its spec, a job trained with them
records ``learning_rate`` in every history row, and bad values are 422 naming the field."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from api_helpers import XOR, auth, client_for, upload

from service import queue
from service.db import Database
from worker.jobs import JobContext
from worker.runner import run_and_report

CONTROLS: list[dict[str, Any]] = [
    {"lr_schedule": {"name": "step", "step_size": 2, "gamma": 0.5}},
    {"lr_schedule": {"name": "exponential", "gamma": 0.9}},
    {"lr_schedule": {"name": "cosine", "t_max": 5, "eta_min": 0.0001}},
    {"lr_schedule": {"name": "plateau", "factor": 0.5, "patience": 1, "threshold": 0.01,
                     "min_lr": 1e-5}, "warmup_epochs": 2},
    {"clip_grad_norm": 1.5},
    {"class_weight": "balanced"},
    {"class_weight": {"yes": 2.0, "no": 0.5}},
]


@pytest.mark.parametrize("controls", CONTROLS, ids=lambda c: "-".join(sorted(c)) + str(
    c.get("lr_schedule", {}).get("name", "")))
def test_each_control_round_trips(db: Database, controls: dict[str, Any]) -> None:
    client, headers = client_for(db), auth(db)
    dataset_id = upload(client, headers)
    body = {"dataset_id": dataset_id, "training": {"epochs": 3, **controls},
            "network": {"hidden_layers": [{"units": 4, "activation": "tanh", "dropout": 0.25}]}}
    r = client.post("/v1/jobs", json=body, headers=headers)
    assert r.status_code == 202, r.text
    for spec in (r.json()["spec"],
                 client.get(f"/v1/jobs/{r.json()['id']}", headers=headers).json()["spec"]):
        assert {k: spec["training"][k] for k in controls} == controls
        assert spec["network"]["hidden_layers"][0]["dropout"] == 0.25


def test_history_rows_carry_the_learning_rate(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    dataset_id = upload(client, headers)
    training = {"epochs": 5, "validation_split": None, "early_stopping": None,
                "optimizer": {"name": "sgd", "learning_rate": 0.1}, "warmup_epochs": 2,
                "lr_schedule": {"name": "step", "step_size": 1, "gamma": 0.5},
                "clip_grad_norm": 1.0, "class_weight": "balanced"}
    body = {"dataset_id": dataset_id, "training": training,
            "network": {"hidden_layers": [{"units": 4, "activation": "tanh", "dropout": 0.2}]}}
    job_id = client.post("/v1/jobs", json=body, headers=headers).json()["id"]
    job = queue.claim_next_job(db, worker_id=str(uuid.uuid4()), lease_seconds=60)
    assert job is not None and job.id == job_id
    assert run_and_report(JobContext(db=db, job=job, checkpoint_seconds=0.0)) == 0
    rows = client.get(f"/v1/jobs/{job_id}/history", headers=headers).json()["data"]
    # warmup 0.1·1/2, 0.1·2/2, then 0.1·0.5^(e−2)
    assert [row["learning_rate"] for row in rows] == pytest.approx([0.05, 0.1, 0.1, 0.05, 0.025])


@pytest.mark.parametrize(("change", "loc"), [
    ({"network": {"hidden_layers": [{"units": 4, "dropout": 1.0}]}},
     ["body", "network", "hidden_layers", 0, "dropout"]),
    ({"training": {"lr_schedule": {"name": "linear"}}}, ["body", "training", "lr_schedule"]),
    ({"training": {"lr_schedule": {"name": "step"}}},
     ["body", "training", "lr_schedule", "step", "step_size"]),
    ({"training": {"warmup_epochs": -1}}, ["body", "training", "warmup_epochs"]),
    ({"training": {"clip_grad_norm": 0}}, ["body", "training", "clip_grad_norm"]),
    ({"training": {"class_weight": {"maybe": 2.0}}},
     ["body", "training", "class_weight", "maybe"]),
    ({"training": {"class_weight": {"yes": -1}}}, ["body", "training", "class_weight", "yes"]),
    ({"training": {"class_weight": "uniform"}}, ["body", "training", "class_weight"]),
    ({"task": "regression", "training": {"class_weight": "balanced"}, "dataset": "values"},
     ["body", "training", "class_weight"]),
])
def test_bad_values_are_422_naming_the_field(db: Database, change: dict[str, Any],
                                             loc: list[Any]) -> None:
    client, headers = client_for(db), auth(db)
    change = dict(change)
    values = {"features": [[0.0], [1.0], [2.0], [3.0]] * 3, "targets": [0.5, 1.5, 2.5, 3.5] * 3}
    dataset_id = upload(client, headers, values if change.pop("dataset", None) else XOR)
    r = client.post("/v1/jobs", json={"dataset_id": dataset_id, **change}, headers=headers)
    assert r.status_code == 422, r.text
    locs = [error["loc"][: len(loc)] for error in r.json()["errors"]]
    assert loc in locs, r.json()
