"""`descent sweeps` against a real `descent serve`: create with --param (the job options give
the base spec) and --wait, list, show, trials sorted by value, cancel; and --param's parsing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from descent_server import ROOT, Server
from descent_testdata import blobs

from descent.cli.output import UsageError
from descent.cli.sweeps import parse_param


def descent(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "service.cli", *args], cwd=ROOT,
                          env=server.env(), capture_output=True, text=True, timeout=300)


def test_param_parses_each_distribution() -> None:
    assert parse_param("training.optimizer.learning_rate=log_uniform:1e-4:1e-1") == (
        "training.optimizer.learning_rate", {"log_uniform": [1e-4, 0.1]})
    assert parse_param("network.hidden_layers.0.units=choice:16,32") == (
        "network.hidden_layers.0.units", {"choice": [16, 32]})
    assert parse_param("network.hidden_layers.0.activation=choice:relu,tanh")[1] == {
        "choice": ["relu", "tanh"]}
    assert parse_param("training.batch_size=int:8:64")[1] == {"int": [8, 64]}
    for bad in ("lr", "a=normal:0:1", "a=int:1", "a=uniform:x:y"):
        with pytest.raises(UsageError):
            parse_param(bad)


@pytest.mark.system
@pytest.mark.slow
def test_create_wait_show_trials_cancel(server: Server, tmp_path: Path) -> None:
    X, y = blobs(seed=2)
    data = tmp_path / "blobs.csv"
    np.savetxt(data, np.column_stack([X, y]), delimiter=",", header="a,b,c,d,label",
               comments="", fmt=["%.5f"] * 4 + ["%d"])
    upload = descent(server, "datasets", "upload", str(data), "--target", "label", "--json")
    assert upload.returncode == 0, upload.stderr
    dataset_id = json.loads(upload.stdout)["id"]
    created = descent(server, "sweeps", "create", "--dataset", dataset_id, "--hidden", "8:relu",
                      "--epochs", "4", "--no-early-stopping",
                      "--param", "training.optimizer.learning_rate=log_uniform:1e-3:1e-1",
                      "--param", "network.hidden_layers.0.units=choice:4,8",
                      "--max-trials", "3", "--parallelism", "2", "--wait", "--json")
    assert created.returncode == 0, created.stderr
    sweep = json.loads(created.stdout)
    assert sweep["status"] == "succeeded" and sweep["counts"]["succeeded"] == 3
    assert "3/3 trials done" in created.stderr  # the progress lines
    assert sweep["config"]["base"]["network"]["hidden_layers"] == [
        {"units": 8, "activation": "relu"}]

    shown = descent(server, "sweeps", "show", sweep["id"])
    assert shown.returncode == 0 and sweep["best"]["model_id"] in shown.stdout
    trials = descent(server, "sweeps", "trials", sweep["id"], "--sort", "value", "--json")
    values = [t["value"] for t in json.loads(trials.stdout)]
    assert len(values) == 3 and values == sorted(values)
    table = descent(server, "sweeps", "trials", sweep["id"]).stdout
    assert "network.hidden_layers.0.units" in table.splitlines()[0]
    assert sweep["id"] in descent(server, "sweeps", "list").stdout
    again = descent(server, "sweeps", "cancel", sweep["id"])
    assert again.returncode == 3 and "already finished" in again.stderr
