"""Tables through the client and the CLI against a real `descent serve` (HTTP, worker): a
DataFrame with a text column and blanks → train → predict by name in any column order, from
Python and from `descent predict`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from descent_server import ROOT, Server
from descent_testdata import churn_records

from descent import Client, DescentAPIError

pytestmark = [pytest.mark.system, pytest.mark.slow]


def customers() -> pd.DataFrame:
    """``churn_records`` as a DataFrame: age (float, NaN), city (object, None), plan, income."""
    return pd.DataFrame(churn_records())


def descent(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "service.cli", *args], cwd=ROOT,
                          env=server.env(), capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def trained(server: Server) -> tuple[str, str, pd.DataFrame]:
    """``(dataset_id, model_id, table)``: the DataFrame uploaded and trained with defaults."""
    table = customers()
    with Client(server.url, server.api_key) as client:
        dataset = client.upload_dataset(table, target="churned", name="customers")
        job = client.submit_job(dataset_id=dataset.id, training={"epochs": 60, "seed": 1})
        job = client.wait(job.id, timeout=240)
    assert job.status == "succeeded", job.error
    assert job.model_id
    return dataset.id, job.model_id, table


def test_a_dataframe_upload_has_its_columns_kinds_and_blanks(
        server: Server, trained: tuple[str, str, pd.DataFrame]) -> None:
    dataset_id, _, table = trained
    with Client(server.url, server.api_key) as client:
        dataset = client.get_dataset(dataset_id)
        again = client.upload_dataset(table.drop(columns="churned"), table["churned"])
        records = client.upload_dataset(
            json.loads(table.to_json(orient="records")), target="churned")
    by_name = {c["name"]: c for c in dataset.columns or []}
    assert [c["name"] for c in dataset.columns or []] == ["age", "city", "plan", "income"]
    assert by_name["age"] == {"name": "age", "kind": "numeric",
                              "missing": int(table["age"].isna().sum()), "categories": None}
    assert by_name["city"]["kind"] == "categorical" and by_name["city"]["categories"] == 3
    assert by_name["city"]["missing"] == int(table["city"].isna().sum()) > 0
    assert dataset.classes == ["no", "yes"] and dataset.n_rows == len(table)
    assert again.id == dataset.id  # features + a targets Series: the same table
    assert records.id == dataset.id  # the same table as records (JSON)


def test_predict_a_dataframe_in_any_column_order(
        server: Server, trained: tuple[str, str, pd.DataFrame]) -> None:
    _, model_id, table = trained
    features = table.drop(columns="churned")
    shuffled = features[["income", "plan", "age", "city"]]
    with Client(server.url, server.api_key) as client:
        original = client.predict(model_id, features)
        reordered = client.predict(model_id, shuffled)
        extra = client.predict(model_id, features.assign(note="hello"))
        with pytest.raises(DescentAPIError) as missing:
            client.predict(model_id, features.rename(columns={"plan": "plan_name"}))
    assert reordered.predictions == original.predictions
    assert reordered.probabilities == original.probabilities
    assert original.ignored_columns == [] and extra.ignored_columns == ["note"]
    assert extra.predictions == original.predictions
    accuracy = np.mean(np.asarray(original.predictions) == table["churned"].to_numpy())
    assert accuracy >= 0.85, accuracy  # it learned the table, blanks and text included
    assert missing.value.status == 422 and "'plan'" in str(missing.value)


def test_cli_predict_reads_the_csv_by_column_name(
        server: Server, trained: tuple[str, str, pd.DataFrame], tmp_path: Path) -> None:
    _, model_id, table = trained
    features = table.drop(columns="churned").head(40)
    original, reordered, misnamed = (tmp_path / n for n in ("a.csv", "b.csv", "c.csv"))
    features.to_csv(original, index=False)
    features[["city", "income", "age", "plan"]].assign(note="x").to_csv(reordered, index=False)
    features.rename(columns={"city": "town"}).to_csv(misnamed, index=False)

    first = descent(server, "predict", model_id, str(original))
    second = descent(server, "predict", model_id, str(reordered))
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout and len(first.stdout.splitlines()) == 41
    assert "note" in second.stderr and "ignored" in second.stderr
    as_json = json.loads(descent(server, "predict", model_id, str(reordered), "--json").stdout)
    assert as_json["ignored_columns"] == ["note"]
    with Client(server.url, server.api_key) as client:
        direct = client.predict(model_id, features)
    assert [line.split(",")[0] for line in first.stdout.splitlines()[1:]] == direct.predictions

    shown = descent(server, "models", "show", model_id)
    assert shown.returncode == 0 and "city (categorical)" in shown.stdout

    refused = descent(server, "predict", model_id, str(misnamed))
    assert refused.returncode != 0 and refused.stdout == ""
    assert "'city'" in refused.stderr


def test_cli_upload_with_column_kinds(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "zips.csv"
    path.write_text("zip,rooms,price\n75001,2,510\n69001,,300\n75001,3,450\n13001,1,180\n")
    uploaded = descent(server, "datasets", "upload", str(path), "--target", "price",
                       "--column-kind", "zip=categorical", "--json")
    assert uploaded.returncode == 0, uploaded.stderr
    columns = json.loads(uploaded.stdout)["columns"]
    assert [(c["name"], c["kind"], c["missing"], c["categories"]) for c in columns] == [
        ("zip", "categorical", 0, 3), ("rooms", "numeric", 1, None)]
    shown = descent(server, "datasets", "show", json.loads(uploaded.stdout)["id"])
    assert shown.returncode == 0 and "categorical" in shown.stdout
    bad = descent(server, "datasets", "upload", str(path), "--column-kind", "zip")
    assert bad.returncode == 2 and "NAME=numeric" in bad.stderr
