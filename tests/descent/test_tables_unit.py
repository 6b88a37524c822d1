"""Tables in the client without a server: what a DataFrame, records or arrays become on the wire
(upload and predict), `descent predict`'s CSV as records, and `--column-kind`."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from descent_server import ROOT

from descent import Client, Model
from descent.cli.csv_inputs import read_inputs
from descent.cli.datasets import column_kinds
from descent.cli.output import UsageError
from descent.tables import predict_inputs
from descent.uploads import dataset_request


def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "age": [34.0, np.nan, 51.5],
        "city": ["paris", None, " lyon "],
        "vip": [True, False, True],
        "plan": pd.Categorical(["pro", "free", np.nan]),
        "visits": pd.array([3, None, 7], dtype="Int64"),
        "zip": [75001, 69001, 75001],
        "churned": ["no", "yes", "no"],
    })


def sent_upload(data: Any, targets: Any = None, **kwargs: Any) -> httpx.Request:
    """The request ``Client.upload_dataset`` sends (answered by a stand-in server)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"id": "ds_1", "columns": [], "n_rows": 3})

    with Client("http://descent.test", "k", transport=httpx.MockTransport(handler)) as client:
        assert client.upload_dataset(data, targets, **kwargs).id == "ds_1"
    return seen[0]


def multipart(request: httpx.Request) -> tuple[str, dict[str, list[str]]]:
    """The uploaded file's text and the form fields of a multipart request."""
    from email.parser import BytesParser
    from email.policy import HTTP

    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + request.content)
    text, form = "", {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True).decode()
        if name == "file":
            text = payload
        else:
            form.setdefault(name, []).append(payload)
    return text, form


def test_a_dataframe_is_sent_as_a_csv_with_kinds_from_its_dtypes() -> None:
    text, form = multipart(sent_upload(frame(), target="churned", name="customers",
                                       column_kinds={"zip": "categorical"}))
    assert list(csv.reader(io.StringIO(text))) == [
        ["age", "city", "vip", "plan", "visits", "zip", "churned"],
        ["34", "paris", "true", "pro", "3", "75001", "no"],
        ["", "", "false", "free", "", "69001", "yes"],      # NaN, None, NA: empty cells
        ["51.5", "lyon", "true", "", "7", "75001", "no"],
    ]
    assert form["target"] == ["churned"] and form["name"] == ["customers"]
    assert json.loads(form["column_kinds"][0]) == {
        "age": "numeric", "city": "categorical", "vip": "categorical", "plan": "categorical",
        "visits": "numeric", "zip": "categorical"}  # the target has no kind; zip overridden


def test_a_dataframe_with_targets_as_a_series() -> None:
    data = frame()
    text, form = multipart(sent_upload(data.drop(columns="churned"), data["churned"]))
    assert text.splitlines()[0].endswith(",churned") and form["target"] == ["churned"]
    values = pd.DataFrame({"x": [1.0, 2.0]})
    text, form = multipart(sent_upload(values, pd.Series([1.0, 2.0])))  # unnamed: "target"
    assert text.splitlines() == ["x,target", "1,1.0", "2,2.0"]  # 1.0 stays a value
    with pytest.raises(ValueError, match="not in the DataFrame"):
        dataset_request(values, target="y")
    with pytest.raises(ValueError, match="numeric or categorical"):
        dataset_request(values, column_kinds={"x": "text"})


def test_records_are_the_json_records_form() -> None:
    request = sent_upload([{"age": np.float64(34.0), "city": "paris", "y": np.int64(1)},
                           {"age": float("nan"), "city": None, "y": 0}],
                          target="y", column_kinds={"city": "categorical"})
    assert json.loads(request.content) == {
        "records": [{"age": 34.0, "city": "paris", "y": 1}, {"age": None, "city": None, "y": 0}],
        "target": "y", "column_kinds": {"city": "categorical"}}
    with pytest.raises(ValueError, match="target="):
        dataset_request([{"a": 1}], [0])
    assert json.loads(sent_upload([[1, 2], [3, 4]], [0, 1]).content) == {
        "features": [[1, 2], [3, 4]], "targets": [0, 1]}  # arrays: as before


def test_target_kind_goes_with_every_table_form() -> None:
    """Issue 11's target_kind beside issue 10's column_kinds: a DataFrame's form field, the
    records' and arrays' JSON field."""
    _, form = multipart(sent_upload(frame(), target="churned", target_kind="labels",
                                    column_kinds={"zip": "categorical"}))
    assert form["target_kind"] == ["labels"] and "zip" in json.loads(form["column_kinds"][0])
    body = json.loads(sent_upload([{"a": 1, "y": 2}], target="y", target_kind="values").content)
    assert body["target_kind"] == "values" and body["target"] == "y"
    body = json.loads(sent_upload([[1], [2]], [0, 1], target_kind="values",
                                  column_kinds={"x0": "numeric"}).content)
    assert body["target_kind"] == "values" and body["column_kinds"] == {"x0": "numeric"}
    with pytest.raises(ValueError, match="target_kind"):
        dataset_request(frame(), target="churned", target_kind="classes")


def test_predict_sends_records_by_name_whatever_the_column_order() -> None:
    data = frame().drop(columns="churned")
    records = predict_inputs(data)
    assert records[1] == {"age": None, "city": None, "vip": "false", "plan": "free",
                          "visits": None, "zip": 69001}
    assert records[2]["city"] == "lyon"  # the text a CSV upload keeps (stripped)
    shuffled = data[["zip", "plan", "age", "visits", "vip", "city"]]
    assert predict_inputs(shuffled) == records
    assert json.dumps(records)  # plain JSON: no NumPy scalars, no NaN
    assert predict_inputs(np.array([[1.0, 2.0]])) == [[1.0, 2.0]]
    assert predict_inputs([{"a": np.float32(0.5), "b": float("nan")}]) == [{"a": 0.5, "b": None}]

    def handler(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content)["inputs"] == records
        return httpx.Response(200, json={"predictions": ["no"] * 3, "probabilities": None,
                                         "prediction_id": None, "ignored_columns": ["zip"]})

    with Client("http://descent.test", "k", transport=httpx.MockTransport(handler)) as client:
        assert client.predict("mdl_1", shuffled).ignored_columns == ["zip"]


def test_importing_the_client_does_not_import_pandas() -> None:
    code = "import sys, descent, descent.cli; assert 'pandas' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


MODEL = Model.from_dict({"id": "mdl_1", "n_features": 3, "columns": [
    {"name": "age", "kind": "numeric", "categories": None},
    {"name": "city", "kind": "categorical", "categories": ["lyon", "paris"]},
    {"name": "zip", "kind": "categorical", "categories": ["69001", "75001"]}]})


def test_the_cli_reads_a_csv_as_records_in_any_column_order(tmp_path: Path) -> None:
    original, reordered = tmp_path / "a.csv", tmp_path / "b.csv"
    original.write_text("age,city,zip\n34,paris,75001\n,lyon,\n")
    reordered.write_text("zip,note,city,age\n75001,hi,paris,34\n,,lyon,\n")
    records, by_name = read_inputs(original, MODEL)
    assert by_name and records == [{"age": 34.0, "city": "paris", "zip": "75001"},
                                   {"age": None, "city": "lyon", "zip": None}]
    again, _ = read_inputs(reordered, MODEL)
    assert [{k: r[k] for k in ("age", "city", "zip")} for r in again] == records
    assert again[0]["note"] == "hi"  # sent; the server ignores it and names it

    bad = tmp_path / "bad.csv"
    bad.write_text("age,city,zip\nold,paris,75001\n")
    with pytest.raises(UsageError, match="line 2, column 'age'"):
        read_inputs(bad, MODEL)


def test_the_cli_reads_a_spreadsheets_csv_bom_crlf_and_quotes(tmp_path: Path) -> None:
    excel = tmp_path / "excel.csv"
    excel.write_bytes(b'\xef\xbb\xbfzip,city,age\r\n75001,"paris, fr",34\r\n,lyon,\r\n')
    records, by_name = read_inputs(excel, MODEL)
    assert by_name and records == [{"zip": "75001", "city": "paris, fr", "age": 34.0},
                                   {"zip": None, "city": "lyon", "age": None}]
    unnamed = tmp_path / "unnamed.csv"
    unnamed.write_text("age,,city,zip\n34,x,paris,75001\n")
    with pytest.raises(UsageError, match="column 2 of the header has no name"):
        read_inputs(unnamed, MODEL)


def test_the_cli_sends_rows_by_position_to_models_without_names(tmp_path: Path) -> None:
    unnamed = Model.from_dict({"id": "mdl_2", "n_features": 2, "columns": [
        {"name": "x0", "kind": "numeric", "categories": None},
        {"name": "x1", "kind": "numeric", "categories": None}]})
    path = tmp_path / "rows.csv"
    path.write_text("a,b\n1,2\n3,\n")
    assert read_inputs(path, unnamed) == ([[1.0, 2.0], [3.0, None]], False)
    legacy = Model.from_dict({"id": "mdl_3", "n_features": 3, "columns": None})
    with pytest.raises(UsageError, match="2 columns"):
        read_inputs(path, legacy)


def test_column_kind_options() -> None:
    assert column_kinds(["zip=categorical", "a=b=Numeric"]) == {"zip": "categorical",
                                                                "a=b": "numeric"}
    assert column_kinds(None) is None
    for bad in ("zip", "zip=text", "=numeric"):
        with pytest.raises(UsageError, match="NAME=numeric"):
            column_kinds([bad])
