"""`Client.evaluate` and `descent models evaluate MODEL DATASET` against a real server: the
report's tables (per class, confusion matrix) printed, the same report as JSON."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from descent_server import ROOT, Server
from descent_testdata import blobs

from descent import Client, DescentAPIError

pytestmark = [pytest.mark.system]


def test_evaluate_from_the_client_and_the_command_line(server: Server, client: Client) -> None:
    X, y = blobs(seed=3)
    labels = [["ant", "bee", "cat"][c] for c in y]
    dataset = client.upload_dataset(X, labels, name="eval-blobs")
    job = client.submit_job(dataset_id=dataset.id, training={"epochs": 10, "seed": 2})
    job = client.wait(job.id, timeout=120)
    assert job.status == "succeeded", job
    model = client.get_model(job.model_id)
    assert model.evaluation is not None and model.evaluation["task"] == "classification"

    evaluation = client.evaluate(model.id, dataset.id)
    assert evaluation.status == "succeeded" and evaluation.report is not None
    assert sum(map(sum, evaluation.report["confusion_matrix"])) == 150
    assert evaluation.id in {e.id for e in client.list_evaluations(model.id)}
    assert client.get_evaluation(evaluation.id).report == evaluation.report

    run = [sys.executable, "-m", "service.cli", "models", "evaluate", model.id, dataset.id]
    shown = subprocess.run(run, cwd=ROOT, env=server.env(), capture_output=True, text=True,
                           timeout=120)
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert "confusion matrix (rows: true, columns: predicted)" in out
    assert "PRECISION" in out and "macro avg" in out and "balanced_accuracy" in out
    assert all(label in out for label in ("ant", "bee", "cat"))
    as_json = subprocess.run([*run, "--json"], cwd=ROOT, env=server.env(), capture_output=True,
                             text=True, timeout=120)
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["report"] == evaluation.report

    unlabeled = client.upload_dataset(X[:5])
    with pytest.raises(DescentAPIError) as refused:
        client.evaluate(model.id, unlabeled.id)
    assert refused.value.status == 422 and "no targets" in str(refused.value)
