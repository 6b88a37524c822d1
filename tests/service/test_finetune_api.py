"""Fine-tuning (``training.init_from_model``) on SQLite and PostgreSQL, through the API and the
real train job: a model trained on one half of a table and fine-tuned on the other half starts
at its parent's loss and keeps the parent's fitted preprocessing; the spec is checked at
submit against the parent (columns, labels, network, preprocessing: 422 naming them; another
tenant's model: 404); a model that a queued job fine-tunes cannot be deleted (409)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from api_helpers import auth, client_for
from test_tables_api import run_next_job

from service.db import Database

CITIES = ["paris", "lyon", "nice"]


def rows(n: int, seed: int) -> list[dict[str, Any]]:
    """``income`` (numeric, mean 50,000), ``age`` (numeric, blanks), ``city`` (categorical);
    the label ``churned`` depends on all three, with noise."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        income, age, city = rng.normal(50_000, 12_000), rng.normal(45, 12), CITIES[i % 3]
        score = (income - 50_000) / 12_000 - (age - 45) / 12 + (city == "nice") * 1.0
        out.append({"income": round(float(income), 2),
                    "age": None if i % 17 == 0 else round(float(age), 1), "city": city,
                    "churned": "yes" if score + rng.normal(0, 0.4) > 0.3 else "no"})
    return out


def upload(client: Any, headers: dict[str, str], records: list[dict[str, Any]],
           name: str) -> str:
    response = client.post("/v1/datasets", json={"name": name, "records": records,
                                                 "target": "churned"}, headers=headers)
    assert response.status_code == 201, response.text
    dataset_id: str = response.json()["id"]
    return dataset_id


SPEC = {"network": {"hidden_layers": [{"units": 16, "activation": "tanh"}]},
        "training": {"epochs": 25, "batch_size": 32, "seed": 3, "early_stopping": None,
                     "optimizer": {"name": "adam", "learning_rate": 0.01}}}


def train(db: Database, client: Any, headers: dict[str, str], body: dict[str, Any]) -> str:
    job = client.post("/v1/jobs", json=body, headers=headers)
    assert job.status_code == 202, job.text
    run_next_job(db)
    done = client.get(f"/v1/jobs/{job.json()['id']}", headers=headers).json()
    assert done["status"] == "succeeded", done
    return str(done["id"])


def history(client: Any, headers: dict[str, str], job_id: str) -> list[dict[str, Any]]:
    rows_: list[dict[str, Any]] = client.get(f"/v1/jobs/{job_id}/history",
                                             headers=headers).json()["data"]
    return rows_


def weights(client: Any, headers: dict[str, str], model_id: str) -> dict[str, np.ndarray]:
    response = client.get(f"/v1/models/{model_id}/weights", headers=headers)
    with np.load(io.BytesIO(response.content)) as npz:
        return {name: npz[name] for name in npz.files}


def test_fine_tuned_model_starts_at_its_parents_loss_and_keeps_its_preprocessing(
    db: Database,
) -> None:
    client, headers = client_for(db), auth(db)
    table = rows(1200, seed=0)
    first = upload(client, headers, table[:600], "first half")
    second = upload(client, headers, table[600:], "second half")
    parent_job = train(db, client, headers, {"dataset_id": first, **SPEC})
    parent_id = client.get(f"/v1/jobs/{parent_job}", headers=headers).json()["model_id"]
    parent_last = history(client, headers, parent_job)[-1]

    tuned = {"dataset_id": second,
             "training": {**SPEC["training"], "epochs": 5, "init_from_model": parent_id,
                          "optimizer": {"name": "adam", "learning_rate": 0.001}}}
    child_job = train(db, client, headers, tuned)
    child_id = client.get(f"/v1/jobs/{child_job}", headers=headers).json()["model_id"]
    child_first = history(client, headers, child_job)[0]
    scratch_job = train(db, client, headers, {"dataset_id": second,
                                              "training": {**tuned["training"],
                                                           "init_from_model": None},
                                              "network": SPEC["network"]})
    scratch_first = history(client, headers, scratch_job)[0]

    # It starts where the parent ended (the other half's loss under the parent's weights),
    # far below a fresh network's first epoch on the same rows.
    assert abs(child_first["loss"] - parent_last["loss"]) < 0.1, (child_first, parent_last)
    assert child_first["loss"] < scratch_first["loss"] - 0.15, (child_first, scratch_first)

    child = client.get(f"/v1/models/{child_id}", headers=headers).json()
    parent = client.get(f"/v1/models/{parent_id}", headers=headers).json()
    assert child["parent_model_id"] == parent_id and parent["parent_model_id"] is None
    assert child["spec"]["network"] == parent["spec"]["network"]  # taken from the parent
    assert child["columns"] == parent["columns"] and child["classes"] == parent["classes"]
    # The parent's fitted preprocessing, kept bit for bit (standardization, imputation, one-hot),
    # not refitted on the second half (whose own mean income is another number).
    theirs, ours = weights(client, headers, parent_id), weights(client, headers, child_id)
    for name in ("mean", "scale", "pre_meta", "pre_fill", "pre_indicated"):
        assert np.array_equal(theirs[name], ours[name]), name
    incomes = np.array([r["income"] for r in table[600:]])
    assert abs(ours["mean"][0] - incomes.mean()) > 1e-6
    assert not np.array_equal(theirs["W0"], ours["W0"])  # and it did train
    # The same record predicts through the parent's pipeline in both.
    record = {"inputs": [{"income": 80_000, "age": None, "city": "nice"}]}
    assert client.post(f"/v1/models/{child_id}/predict", json=record,
                       headers=headers).json()["predictions"] == ["yes"]


def test_submit_checks_the_dataset_and_spec_against_the_parent(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    table = rows(200, seed=1)
    first = upload(client, headers, table, "first")
    parent_job = train(db, client, headers, {
        "dataset_id": first, "network": SPEC["network"],
        "training": {**SPEC["training"], "epochs": 2}})
    parent_id = client.get(f"/v1/jobs/{parent_job}", headers=headers).json()["model_id"]

    def submit(records: list[dict[str, Any]] | None = None, **body: Any) -> Any:
        dataset = first if records is None else upload(client, headers, records, "other")
        training = {"epochs": 1, "init_from_model": parent_id, **body.pop("training", {})}
        return client.post("/v1/jobs", json={"dataset_id": dataset, "training": training,
                                             **body}, headers=headers)

    renamed = [{("salary" if k == "income" else k): v for k, v in r.items()} for r in table]
    refused = submit(renamed)
    assert refused.status_code == 422, refused.text
    detail = refused.json()["detail"]
    assert "missing 'income'" in detail and "not in the model 'salary'" in detail, detail
    assert refused.json()["errors"][0]["loc"] == ["body", "dataset_id"]
    extra = submit([{**r, "zip": "75001"} for r in table])
    assert extra.status_code == 422 and "'zip'" in extra.json()["detail"]
    kinds = submit([{**r, "age": "old" if r["age"] and r["age"] > 50 else "young"}
                    for r in table])
    assert kinds.status_code == 422
    assert "'age' (categorical here, numeric in the model)" in kinds.json()["detail"]
    labels = submit([{**r, "churned": "maybe" if i == 0 else r["churned"]}
                     for i, r in enumerate(table)])
    assert labels.status_code == 422 and "'maybe'" in labels.json()["detail"]

    network = submit(network={"hidden_layers": [{"units": 8, "activation": "tanh"}]})
    assert network.status_code == 422 and network.json()["errors"][0]["loc"] == [
        "body", "network"]
    assert "16:tanh" in network.json()["detail"]
    same = submit(network={"hidden_layers": [{"units": 16, "activation": "tanh",
                                              "dropout": 0.1}]})
    assert same.status_code == 202, same.text  # the parent's layers, another dropout
    preprocessing = submit(preprocessing={"numeric_imputation": "median"})
    assert preprocessing.status_code == 422
    assert preprocessing.json()["errors"][0]["loc"] == ["body", "preprocessing"]
    scaling = submit(training={"standardize": False})
    assert scaling.json()["errors"][0]["loc"] == ["body", "training", "standardize"]
    task = submit(task="regression")
    assert task.status_code == 422 and task.json()["errors"][0]["loc"] == ["body", "task"]

    sweep = client.post("/v1/sweeps", headers=headers, json={
        "dataset_id": first, "base": {"training": {"epochs": 1, "init_from_model": parent_id}},
        "space": {"training.optimizer.learning_rate": {"log_uniform": [1e-3, 1e-1]}},
        "max_trials": 2})
    assert sweep.status_code == 422 and "init_from_model" in sweep.text, sweep.text

    other = auth(db, tenant="other")
    theirs = upload(client, other, table, "theirs")
    stolen = client.post("/v1/jobs", json={"dataset_id": theirs, "training": {
        "init_from_model": parent_id}}, headers=other)
    assert stolen.status_code == 404, stolen.text
    # A queued job fine-tunes it: the parent cannot be deleted meanwhile.
    assert client.delete(f"/v1/models/{parent_id}", headers=headers).status_code == 409
    client.post(f"/v1/jobs/{same.json()['id']}/cancel", headers=headers)
    assert client.delete(f"/v1/models/{parent_id}", headers=headers).status_code == 204


def test_regression_fine_tuning_keeps_the_target_scaling_and_resumes_bit_identical(
    db: Database,
) -> None:
    """A regression parent's target scaling is kept too; a fine-tuning job stopped mid-run and
    resumed from its checkpoint ends with the weights of an uninterrupted one."""
    from service import queue
    from worker.jobs import JobContext
    from worker.runner import EXIT_STOPPED, run_and_report

    client, headers = client_for(db), auth(db)
    rng = np.random.default_rng(5)
    X = rng.normal(10, 3, size=(400, 3))
    y = 1000 + 50 * X[:, 0] - 20 * X[:, 1] + rng.normal(0, 5, 400)
    ids = [client.post("/v1/datasets", headers=headers, json={
        "features": X[part].tolist(), "targets": y[part].tolist(), "target_kind": "values",
    }).json()["id"] for part in (slice(0, 200), slice(200, 400))]
    body = {"network": {"hidden_layers": [{"units": 8, "activation": "tanh"}]},
            "training": {"epochs": 5, "early_stopping": None}}
    parent_job = train(db, client, headers, {"dataset_id": ids[0], **body})
    parent_id = client.get(f"/v1/jobs/{parent_job}", headers=headers).json()["model_id"]

    tuned = {"dataset_id": ids[1], "training": {"epochs": 4, "init_from_model": parent_id,
                                                "early_stopping": None}}
    whole = train(db, client, headers, tuned)
    stopped = client.post("/v1/jobs", json=tuned, headers=headers).json()["id"]
    job = queue.claim_next_job(db, worker_id="w", lease_seconds=60)
    assert job is not None and job.id == stopped
    calls = 0

    def stop_in_epoch_3() -> bool:
        nonlocal calls
        calls += 1
        return calls >= 20  # 6 batches + 1 look an epoch

    context = JobContext(db=db, job=job, checkpoint_seconds=0.0, should_stop=stop_in_epoch_3)
    assert run_and_report(context) == EXIT_STOPPED
    assert queue.release(db, job_id=stopped, lease_token=job.lease_token)
    run_next_job(db)

    model_ids = [client.get(f"/v1/jobs/{j}", headers=headers).json()["model_id"]
                 for j in (parent_job, whole, stopped)]
    models = [client.get(f"/v1/models/{m}", headers=headers).json() for m in model_ids]
    assert models[1]["weights_sha256"] == models[2]["weights_sha256"]
    assert models[1]["parent_model_id"] == models[2]["parent_model_id"] == parent_id
    theirs, ours = (weights(client, headers, m["id"]) for m in (models[0], models[1]))
    for name in ("mean", "scale", "target_mean", "target_scale"):
        assert np.array_equal(theirs[name], ours[name]), name
    assert abs(float(ours["target_mean"][0]) - float(y[200:].mean())) > 1e-9


def test_multilabel_fine_tuning_reads_the_labels_by_name(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    sets = [[label for label, on in zip("abc", x > 0, strict=True) if on] for x in X]
    ids = [upload_sets(client, headers, X[part], sets[part]) for part in
           (slice(0, 60), slice(60, 120))]
    parent_job = train(db, client, headers, {"dataset_id": ids[0], "training": {"epochs": 3}})
    parent_id = client.get(f"/v1/jobs/{parent_job}", headers=headers).json()["model_id"]
    child_job = train(db, client, headers, {"dataset_id": ids[1], "training": {
        "epochs": 2, "init_from_model": parent_id}})
    child = client.get(f"/v1/jobs/{child_job}", headers=headers).json()
    assert child["spec"]["task"] == "multilabel"
    model = client.get(f"/v1/models/{child['model_id']}", headers=headers).json()
    assert model["classes"] == ["a", "b", "c"] and model["parent_model_id"] == parent_id


def upload_sets(client: Any, headers: dict[str, str], X: np.ndarray,
                sets: list[list[str]]) -> str:
    response = client.post("/v1/datasets", json={"features": X.tolist(), "targets": sets},
                           headers=headers)
    assert response.status_code == 201, response.text
    dataset_id: str = response.json()["id"]
    return dataset_id


def test_a_dataset_with_some_of_the_parents_classes_trains_on_the_parents_outputs(
    db: Database,
) -> None:
    client, headers = client_for(db), auth(db)
    rng = np.random.default_rng(2)
    X = rng.normal(size=(90, 2))
    labels = np.array(["ant", "bee", "cat"])[np.argmax(np.c_[X, -X.sum(axis=1)], axis=1)]
    parent_set = client.post("/v1/datasets", json={"features": X.tolist(),
                                                   "targets": labels.tolist()}, headers=headers)
    bees_and_cats = labels != "ant"
    child_set = client.post("/v1/datasets", json={
        "features": X[bees_and_cats].tolist(), "targets": labels[bees_and_cats].tolist(),
    }, headers=headers)
    parent_job = train(db, client, headers, {"dataset_id": parent_set.json()["id"],
                                             "training": {"epochs": 5}})
    parent_id = client.get(f"/v1/jobs/{parent_job}", headers=headers).json()["model_id"]
    child_job = train(db, client, headers, {"dataset_id": child_set.json()["id"], "training": {
        "epochs": 2, "init_from_model": parent_id}})
    child_id = client.get(f"/v1/jobs/{child_job}", headers=headers).json()["model_id"]
    child = client.get(f"/v1/models/{child_id}", headers=headers).json()
    assert child["classes"] == ["ant", "bee", "cat"]
    predicted = client.post(f"/v1/models/{child_id}/predict", json={"inputs": [[0.0, 0.0]]},
                            headers=headers).json()
    assert len(predicted["probabilities"][0]) == 3
