"""Sweeps through the API, trials run in-process (SQLite and PostgreSQL): a sweep queues
``parallelism`` trials, each ended trial makes room for the next, it ends with exactly
``max_trials`` and its best; trials sort, cancel stops it, tenants don't see each other's,
and a sweep whose trials could not be jobs is refused before anything is stored."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "service"))
from api_helpers import auth, client_for  # noqa: E402

from service import queue  # noqa: E402
from service.db import Database  # noqa: E402
from service.settings import Settings  # noqa: E402
from service.sweeps.advance import advance_all  # noqa: E402
from worker.jobs import JobContext  # noqa: E402
from worker.runner import run_and_report  # noqa: E402


def blobs(n: int = 120, seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = np.where(X[:, 0] + 0.5 * X[:, 1] > 0, "a", "b")
    return {"features": X.round(4).tolist(), "targets": y.tolist()}


def sweep_body(dataset_id: str, **over: Any) -> dict[str, Any]:
    body = {
        "dataset_id": dataset_id,
        "base": {"network": {"hidden_layers": [{"units": 4, "activation": "tanh"}]},
                 "training": {"epochs": 4, "validation_split": 0.25, "early_stopping": None}},
        "space": {"training.optimizer.learning_rate": {"log_uniform": [1e-3, 1e-1]},
                  "network.hidden_layers.0.units": {"choice": [2, 4, 8]}},
        "method": "random", "metric": {"name": "val_loss", "goal": "minimize"},
        "max_trials": 5, "parallelism": 2, "seed": 3,
    }
    return {**body, **over}


def run_one(db: Database) -> bool:
    job = queue.claim_next_job(db, worker_id=str(uuid.uuid4()), lease_seconds=60)
    if job is None:
        return False
    assert run_and_report(JobContext(db=db, job=job, checkpoint_seconds=0.0)) == 0
    return True


@pytest.fixture
def setup(db: Database) -> tuple[Any, dict[str, str], str]:
    client = client_for(db)
    headers = auth(db)
    response = client.post("/v1/datasets", json=blobs(), headers=headers)
    assert response.status_code == 201, response.text
    return client, headers, response.json()["id"]


def test_a_sweep_runs_exactly_max_trials_and_names_its_best(db: Database, setup: Any) -> None:
    client, headers, dataset_id = setup
    created = client.post("/v1/sweeps", json=sweep_body(dataset_id), headers=headers)
    assert created.status_code == 201, created.text
    sweep = created.json()
    assert sweep["status"] == "running" and sweep["trials_sampled"] == 2
    assert sweep["counts"]["queued"] == 2
    url = f"/v1/sweeps/{sweep['id']}"
    settings = Settings(database_url=db.url)
    for _ in range(20):
        if not run_one(db):
            break
        advance_all(db, settings=settings)
        got = client.get(url, headers=headers).json()
        assert got["counts"]["queued"] + got["counts"]["running"] <= 2
    sweep = client.get(url, headers=headers).json()
    assert sweep["status"] == "succeeded", sweep
    assert sweep["trials_sampled"] == 5 and sweep["counts"]["succeeded"] == 5
    best = sweep["best"]
    assert best["model_id"] and best["value"] is not None
    trials = client.get(f"{url}/trials?sort=value", headers=headers).json()["data"]
    assert [t["number"] for t in trials][0] == best["number"]
    assert [t["value"] for t in trials] == sorted(t["value"] for t in trials)
    assert len({repr(sorted(t["params"].items())) for t in trials}) == 5  # none sampled twice
    job = client.get(f"/v1/jobs/{best['job_id']}", headers=headers).json()
    assert job["sweep_id"] == sweep["id"] and job["kind"] == "train"
    assert job["spec"]["training"]["optimizer"]["learning_rate"] == pytest.approx(
        best["params"]["training.optimizer.learning_rate"])
    # Another tenant sees none of it.
    other = auth(db, tenant="other")
    assert client.get(url, headers=other).status_code == 404
    assert client.get(f"{url}/trials", headers=other).status_code == 404
    assert client.post(f"{url}/cancel", headers=other).status_code == 404
    assert client.get("/v1/sweeps", headers=other).json()["data"] == []
    assert client.post(f"{url}/cancel", headers=headers).status_code == 409


def test_cancel_stops_sampling_and_cancels_queued_trials(db: Database, setup: Any) -> None:
    client, headers, dataset_id = setup
    sweep = client.post("/v1/sweeps", json=sweep_body(dataset_id), headers=headers).json()
    cancelled = client.post(f"/v1/sweeps/{sweep['id']}/cancel", headers=headers)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["counts"]["cancelled"] == 2
    advance_all(db, settings=Settings(database_url=db.url))
    assert not run_one(db)
    assert client.get(f"/v1/sweeps/{sweep['id']}", headers=headers).json()["trials_sampled"] == 2


def test_a_sweep_whose_dataset_is_deleted_fails_its_trials_a_few_per_advance(
        db: Database, setup: Any) -> None:
    """Its remaining trials are failed jobs at once; sampling them all in one transaction held
    the write lock for minutes on a big sweep, so each advance makes at most a few."""
    from service.sweeps.advance import FAILED_PER_ADVANCE, advance

    client, headers, dataset_id = setup
    body = sweep_body(dataset_id, max_trials=3 * FAILED_PER_ADVANCE, parallelism=1)
    sweep = client.post("/v1/sweeps", json=body, headers=headers).json()
    url = f"/v1/sweeps/{sweep['id']}"
    first = client.get(f"{url}/trials", headers=headers).json()["data"][0]["job_id"]
    assert client.post(f"/v1/jobs/{first}/cancel", headers=headers).status_code == 200
    assert client.delete(f"/v1/datasets/{dataset_id}", headers=headers).status_code == 204
    settings = Settings(database_url=db.url)
    assert advance(db, sweep_id=sweep["id"], settings=settings) == "running"
    got = client.get(url, headers=headers).json()
    assert got["trials_sampled"] == 1 + FAILED_PER_ADVANCE
    while advance_all(db, settings=settings):
        pass
    got = client.get(url, headers=headers).json()
    assert got["status"] == "failed" and got["trials_sampled"] == 3 * FAILED_PER_ADVANCE
    assert got["counts"]["failed"] == 3 * FAILED_PER_ADVANCE - 1
    last = client.get(f"{url}/trials", headers=headers).json()["data"][-1]["job_id"]
    job = client.get(f"/v1/jobs/{last}", headers=headers).json()
    assert "was deleted" in job["error"]["message"], job


@pytest.mark.parametrize(("change", "where"), [
    ({"space": {"training.epochs": {"int": [1, 10**9]}}}, "space"),
    ({"space": {"network.hidden_layers.3.units": {"int": [1, 4]}}}, "space"),
    ({"space": {"training.optimizer.learning_rate": {"uniform": [1, 0.1]}}}, "space"),
    ({"method": "grid"}, "space"),
    ({"method": "grid", "space": {"network.hidden_layers.0.units": {"choice": [2, 4]}}},
     "max_trials"),
    ({"base": {"training": {"validation_split": None}}}, "hidden_layers list"),
    ({"base": {"network": {"hidden_layers": [{"units": 3}]},
               "training": {"validation_split": None}}}, "metric"),
    # a measure no trial writes: every trial would succeed without a value, and no best
    ({"metric": {"name": "val_bogus"}}, "['body', 'metric', 'name']"),
    ({"metric": {"name": "val_mae"}}, "give one of loss, accuracy, val_loss, val_accuracy"),
    ({"space": {"dataset_id": {"choice": ["ds_other"]}}}, "dataset_id is not searched"),
    # a rule that could only stop a trial after its last epoch (the base trains 4)
    ({"early_termination": {"type": "hyperband", "min_epochs": 4}},
     "['body', 'early_termination', 'min_epochs']"),
    ({"early_termination": {"type": "median", "warmup_epochs": 9}}, "give a warmup_epochs below 4"),
])
def test_a_sweep_that_cannot_run_is_refused(db: Database, setup: Any, change: dict[str, Any],
                                            where: str) -> None:
    client, headers, dataset_id = setup
    response = client.post("/v1/sweeps", json=sweep_body(dataset_id, **change), headers=headers)
    assert response.status_code == 422, response.text
    assert where in str(response.json()), response.text
    assert client.get("/v1/sweeps", headers=headers).json()["data"] == []
    assert not run_one(db)


@pytest.mark.parametrize("rule", [
    {"type": "median", "startup_trials": 2, "warmup_epochs": 1},
    {"type": "hyperband", "min_epochs": 1, "reduction_factor": 3},
])
def test_early_termination_prunes_trials_that_fall_behind(db: Database, setup: Any,
                                                          rule: dict[str, Any]) -> None:
    client, headers, dataset_id = setup
    body = sweep_body(
        dataset_id, max_trials=8, parallelism=1,
        base={"network": {"hidden_layers": [{"units": 4, "activation": "tanh"}]},
              "training": {"epochs": 8, "validation_split": 0.25, "early_stopping": None,
                           "optimizer": {"name": "sgd"}}},
        space={"training.optimizer.learning_rate": {"log_uniform": [1e-5, 0.5]}},
        early_termination=rule)
    sweep = client.post("/v1/sweeps", json=body, headers=headers).json()
    settings = Settings(database_url=db.url)
    while run_one(db):
        advance_all(db, settings=settings)
    sweep = client.get(f"/v1/sweeps/{sweep['id']}", headers=headers).json()
    assert sweep["status"] == "succeeded" and sweep["trials_sampled"] == 8, sweep
    trials = client.get(f"/v1/sweeps/{sweep['id']}/trials", headers=headers).json()["data"]
    pruned = [t for t in trials if t["status"] == "pruned"]
    assert pruned and sweep["counts"]["pruned"] == len(pruned), trials
    for trial in pruned:
        assert trial["epochs"] == trial["pruned_epoch"] < 8 and trial["model_id"]
        job = client.get(f"/v1/jobs/{trial['job_id']}", headers=headers).json()
        assert job["status"] == "succeeded"
    assert sweep["best"]["status"] == "succeeded"
    assert sweep["epochs_trained"] < 8 * 8
