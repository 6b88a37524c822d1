"""Target kinds over real HTTP (issue 11, item 1): whole-number targets as values through the
SDK and the CLI, a job's task overriding the upload's guess, and the upload's hint."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from descent_server import ROOT, Server
from sklearn.datasets import load_diabetes

from descent import Client, DescentAPIError

pytestmark = [pytest.mark.system, pytest.mark.slow]
QUICK = {"epochs": 15}


def cli(server: Server, *args: str) -> Any:
    result = subprocess.run([sys.executable, "-m", "service.cli", *args, "--json"], cwd=ROOT,
                            env=server.env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def diabetes_csv(path: Path) -> Path:
    """The diabetes data with its target, disease progression, as whole numbers (25…346)."""
    X, y = load_diabetes(return_X_y=True, scaled=False)
    header = [f"x{j}" for j in range(X.shape[1])] + ["progression"]
    rows = [",".join(f"{v:g}" for v in x) + f",{int(t)}" for x, t in zip(X, y, strict=True)]
    path.write_text(",".join(header) + "\n" + "\n".join(rows) + "\n")
    return path


def test_whole_number_targets_train_as_values_via_the_cli(server: Server, tmp_path: Path,
                                                         client: Client) -> None:
    path = diabetes_csv(tmp_path / "diabetes.csv")
    guessed = cli(server, "datasets", "upload", str(path), "--target", "progression")
    assert guessed["target_kind"] == "labels" and guessed["target_kind_guessed"] is True
    assert "task 'regression'" in guessed["hint"] and "target_kind 'values'" in guessed["hint"]
    values = cli(server, "datasets", "upload", str(path), "--target", "progression",
                 "--target-kind", "values")
    assert values["target_kind"] == "values" and values["classes"] is None
    assert values["target_kind_guessed"] is False and values["hint"] is None
    job = client.wait(client.submit_job(dataset_id=values["id"], training=QUICK).id, timeout=240)
    assert job.status == "succeeded" and job.spec["task"] == "regression", job.error
    assert job.metrics is not None and job.metrics["val_r2"] > 0.2


def test_whole_number_targets_as_values_via_the_sdk(client: Client) -> None:
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 3))
    y = np.rint(X @ [30.0, -20.0, 10.0] + 150).astype(int)
    guessed = client.upload_dataset(X, y)
    assert guessed.target_kind == "labels" and guessed.hint and "guessed" in guessed.hint
    dataset = client.upload_dataset(X, y, target_kind="values")
    assert dataset.target_kind == "values" and dataset.hint is None
    job = client.wait(client.submit_job(dataset_id=dataset.id, training=QUICK).id, timeout=240)
    assert job.status == "succeeded" and job.spec["task"] == "regression", job.error
    answer = client.predict(job.model_id, X[:3])
    assert all(isinstance(p, float) for p in answer.predictions)
    with pytest.raises(ValueError, match="target_kind"):
        client.upload_dataset(X, y, target_kind="numbers")


def test_the_task_overrides_the_guess_when_the_targets_allow(client: Client) -> None:
    rng = np.random.default_rng(6)
    X = rng.normal(size=(200, 2))
    # Whole numbers, guessed to be labels: a regression job reads them as values.
    counts = np.rint(X @ [40.0, 25.0] + 100).astype(int)
    labels = client.upload_dataset(X, counts)
    assert labels.target_kind == "labels"
    job = client.wait(client.submit_job(dataset_id=labels.id, task="regression",
                                        training=QUICK).id, timeout=240)
    assert job.status == "succeeded", job.error
    model = client.get_model(job.model_id)
    assert model.task == "regression" and model.classes is None and "val_r2" in model.metrics
    # 0.0 / 1.0 floats, guessed to be values: a classification job reads them as labels.
    flags = (X[:, 0] > 0).astype(float)
    values = client.upload_dataset(X, flags)
    assert values.target_kind == "values" and "task 'classification'" in values.hint
    job = client.wait(client.submit_job(dataset_id=values.id, task="classification",
                                        training=QUICK).id, timeout=240)
    assert job.status == "succeeded", job.error
    model = client.get_model(job.model_id)
    assert model.task == "classification" and model.classes == [0, 1]
    assert client.predict(model.id, [[2.0, 0.0], [-2.0, 0.0]]).predictions == [1, 0]


def test_the_task_is_refused_when_the_targets_do_not_allow(client: Client) -> None:
    rng = np.random.default_rng(7)
    X = rng.normal(size=(40, 2))
    names = client.upload_dataset(X, ["cat", "dog"] * 20)
    with pytest.raises(DescentAPIError) as refused:
        client.submit_job(dataset_id=names.id, task="regression")
    assert refused.value.status == 422 and "'cat'" in str(refused.value)
    assert refused.value.errors[0]["loc"] == ["body", "task"]
    fractions = client.upload_dataset(X, X[:, 0] * 2.5)
    with pytest.raises(DescentAPIError) as refused:
        client.submit_job(dataset_id=fractions.id, task="classification")
    assert refused.value.status == 422 and "not all whole numbers" in str(refused.value)
