"""Naming, aliasing, fine-tuning and deleting models from the Python client and the `descent`
command line, against a real `descent serve`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from descent_server import ROOT, Server

from descent import Client, DescentAPIError

pytestmark = [pytest.mark.system, pytest.mark.slow]

TRAINING = {"epochs": 3, "optimizer": {"name": "adam", "learning_rate": 0.01}}


def descent(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "service.cli", *args], cwd=ROOT,
                          env=server.env(), capture_output=True, text=True, timeout=300)


def json_of(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_client_names_aliases_fine_tunes_and_deletes(client: Client,
                                                     classification_csv: Path) -> None:
    dataset = client.upload_dataset(classification_csv, target="label")
    job = client.submit_job(dataset_id=dataset.id, training=TRAINING)
    parent = client.wait(job.id, timeout=120).model_id
    assert parent

    named = client.update_model(parent, name="blobs v1", tags=["prod"])
    assert (named.name, named.tags, named.description) == ("blobs v1", ["prod"], None)
    assert client.update_model(parent, description="three blobs").name == "blobs v1"
    assert [m.id for m in client.list_models(name="blobs v1", tag="prod")] == [parent]

    tuned = client.submit_job(dataset_id=dataset.id, training={**TRAINING,
                                                               "init_from_model": parent})
    child = client.get_model(client.wait(tuned.id, timeout=120).model_id or "")
    assert child.parent_model_id == parent
    assert child.spec["network"] == client.get_model(parent).spec["network"]

    alias = client.set_alias("blobs-production", parent)
    assert alias.model_id == parent
    rows = [[0.0, 0.0, 0.0, 0.0]]
    assert client.predict_by_alias("blobs-production", rows) == client.predict(parent, rows)
    client.set_alias("blobs-production", child.id)
    assert client.get_alias("blobs-production").model_id == child.id
    assert client.predict_by_alias("blobs-production", rows) == client.predict(child.id, rows)
    assert [a.alias for a in client.list_aliases(child.id)] == ["blobs-production"]

    with pytest.raises(DescentAPIError) as refused:
        client.delete_model(child.id)
    assert refused.value.status == 409
    client.delete_alias("blobs-production")
    client.delete_model(child.id)
    with pytest.raises(DescentAPIError) as gone:
        client.get_model(child.id)
    assert gone.value.status == 404


def test_cli_renames_tags_aliases_fine_tunes_and_deletes(server: Server, tmp_path: Path,
                                                         classification_csv: Path) -> None:
    dataset = json_of(descent(server, "datasets", "upload", str(classification_csv),
                              "--target", "label", "--json"))
    job = json_of(descent(server, "jobs", "submit", "--dataset", dataset["id"], "--epochs", "3",
                          "--wait", "--json"))
    model_id = job["model_id"]
    renamed = json_of(descent(server, "models", "rename", model_id, "blobs", "--description",
                              "first try", "--json"))
    assert (renamed["name"], renamed["description"]) == ("blobs", "first try")
    descent(server, "models", "tag", model_id, "prod", "q4")
    assert json_of(descent(server, "models", "untag", model_id, "prod", "--json"))["tags"] == [
        "q4"]
    shown = descent(server, "models", "show", model_id)
    assert "blobs" in shown.stdout and "q4" in shown.stdout

    tuned = json_of(descent(server, "jobs", "submit", "--dataset", dataset["id"], "--init-from",
                            model_id, "--epochs", "2", "--lr", "0.0005", "--wait", "--json"))
    assert tuned["spec"]["training"]["init_from_model"] == model_id
    moved = descent(server, "models", "alias", "cli-production", model_id)
    assert moved.returncode == 0 and model_id in moved.stderr + moved.stdout
    moved = descent(server, "models", "alias", "cli-production", tuned["model_id"])
    assert f"(was {model_id})" in moved.stderr + moved.stdout
    assert json_of(descent(server, "models", "alias", "cli-production", "--json"))[
        "model_id"] == tuned["model_id"]
    listed = json_of(descent(server, "models", "aliases", "--model", tuned["model_id"], "--json"))
    assert [a["alias"] for a in listed["data"]] == ["cli-production"]

    inputs = tmp_path / "new.csv"
    inputs.write_text("a,b,c,d\n0.1,0.2,0.3,0.4\n")
    by_alias = json_of(descent(server, "predict", "cli-production", str(inputs), "--json"))
    assert by_alias["model_id"] == tuned["model_id"] and len(by_alias["predictions"]) == 1
    assert "blobs" in descent(server, "models", "list").stdout  # the NAME column
    tagged = json_of(descent(server, "models", "list", "--tag", "q4", "--name", "blobs", "--json"))
    assert [m["id"] for m in tagged["data"]] == [model_id]

    refused = descent(server, "models", "delete", tuned["model_id"])
    assert refused.returncode == 3 and "cli-production" in refused.stderr
    assert descent(server, "models", "unalias", "cli-production").returncode == 0
    assert descent(server, "models", "delete", tuned["model_id"]).returncode == 0
    assert descent(server, "models", "show", tuned["model_id"]).returncode == 3
