"""ONNX of models with column steps: onnxruntime fed raw columns equals ``/predict``'s numbers.

``LoadedModel`` is built in memory: a ``Pipeline`` fitted on a ``Table`` with numeric columns
(NaN cells) and categorical ones (missing cells), a network with random weights. ``/predict``'s
side goes through the route's own reader (``read_inputs``: records with nulls) and ``predict``;
the graph is fed one ``[N, 1]`` array per column: double with NaN, strings with ``""``.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from service.datasets.columns import categorical_column
from service.inference import LoadedModel, predict
from service.inference.records import read_inputs
from service.onnx_export import NameClash, to_onnx
from worker.nn import Network
from worker.pipeline import Column, Pipeline, Table, TargetScaler

CITIES = ["paris", "oslo", "lima", "rome", "kyiv"]


def records(n: int, seed: int, *, categorical: bool = True) -> list[dict[str, Any]]:
    """Rows with ``age``/``income`` (numeric, ~15% null) and ``city``/``plan`` (categorical,
    ``city`` ~15% null)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        row: dict[str, Any] = {
            "age": None if rng.random() < 0.15 else float(rng.normal(40, 12)),
            "income": None if rng.random() < 0.15 else float(rng.normal(5e4, 2e4))}
        if categorical:
            row["city"] = None if rng.random() < 0.15 else CITIES[int(rng.integers(0, 4))]
            row["plan"] = ["basic", "pro"][i % 2]
        out.append(row)
    return out


def table_of(rows: list[dict[str, Any]], kinds: dict[str, str]) -> Table:
    columns = []
    for name, kind in kinds.items():
        cells = [row[name] for row in rows]
        if kind == "numeric":
            values = np.array([np.nan if c is None else c for c in cells], dtype=np.float64)
            columns.append(Column(name, "numeric", values))
        else:
            columns.append(categorical_column(name, cells))
    return Table(tuple(columns))


def loaded_model(task: str, rows: list[dict[str, Any]], kinds: dict[str, str], *,
                 dtype: str = "float32", standardize: bool = True, classes: list[Any] | None = None,
                 seed: int = 0, targets: TargetScaler | None = None,
                 **preprocessing: Any) -> LoadedModel:
    pipeline = Pipeline.fit(table_of(rows, kinds), standardize=standardize, dtype=dtype,
                            preprocessing=preprocessing)
    n_outputs = len(classes) if classes else 2
    network = {"hidden_layers": [{"units": 8, "activation": "tanh"},
                                 {"units": 6, "activation": "elu"}]}
    net = Network.from_spec(network, pipeline.width, n_outputs, dtype=dtype, task=task, seed=seed)
    rng = np.random.default_rng(seed)
    net.params = [rng.normal(scale=0.7, size=p.shape) for p in net.params]
    return LoadedModel(id="mdl_test", tenant_id="ten_test", task=task, classes=classes,
                       n_features=len(kinds), n_targets=1 if classes else n_outputs, net=net,
                       pipeline=pipeline, targets=targets)


def feeds(rows: list[dict[str, Any]], kinds: dict[str, str]) -> dict[str, np.ndarray]:
    """Raw columns as the graph takes them: ``[N, 1]`` double (NaN) or strings (``""``)."""
    out = {}
    for name, kind in kinds.items():
        cells = [row[name] for row in rows]
        if kind == "numeric":
            out[name] = np.array([[np.nan if c is None else c] for c in cells], np.float64)
        else:
            out[name] = np.array([["" if c is None else str(c)] for c in cells], dtype=object)
    return out


def run(model: bytes, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, inputs), strict=True))


def assert_matches_predict(loaded: LoadedModel, rows: list[dict[str, Any]],
                           kinds: dict[str, str]) -> dict[str, np.ndarray]:
    content = to_onnx(loaded)
    onnx.checker.check_model(onnx.load_from_string(content), full_check=True)
    ours = run(content, feeds(rows, kinds))
    predictions, probabilities = predict(loaded, read_inputs(loaded, rows)[0])
    if loaded.task == "classification":
        np.testing.assert_allclose(ours["output"], probabilities, atol=1e-5, rtol=1e-5)
        assert ours["label"].tolist() == predictions
    else:
        expected = np.asarray(predictions, np.float64).reshape(len(rows), -1)
        np.testing.assert_allclose(ours["output"], expected, atol=1e-5, rtol=1e-5)
    return ours


MIXED = {"age": "numeric", "city": "categorical", "income": "numeric", "plan": "categorical"}
NUMERIC = {"age": "numeric", "income": "numeric"}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("kinds", [MIXED, NUMERIC], ids=["categorical", "numeric"])
def test_raw_columns_with_nan_and_empty_strings(kinds: dict[str, str], task: str,
                                                dtype: str) -> None:
    train = records(300, seed=1, categorical=kinds is MIXED)
    classes = ["churn", "stay", "upgrade"] if task == "classification" else None
    loaded = loaded_model(task, train, kinds, dtype=dtype, classes=classes)
    unseen = [dict(train[0], city="tokyo", plan="enterprise")] if kinds is MIXED else []
    fresh = records(80, seed=2, categorical=kinds is MIXED) + unseen
    assert any(v is None for row in fresh for v in row.values())
    assert_matches_predict(loaded, fresh, kinds)
    graph = onnx.load_from_string(to_onnx(loaded)).graph
    assert [i.name for i in graph.input] == list(kinds)
    for graph_input in graph.input:
        tensor = graph_input.type.tensor_type
        assert [d.dim_param or d.dim_value for d in tensor.shape.dim] == ["N", 1]
        assert tensor.elem_type == (onnx.TensorProto.STRING if kinds[graph_input.name]
                                    == "categorical" else onnx.TensorProto.DOUBLE)


@pytest.mark.parametrize("preprocessing", [
    {"categorical_imputation": "constant", "numeric_imputation": "median"},
    {"numeric_imputation": "constant", "fill_value": -3.5, "missing_indicators": False},
    {"max_categories": 2},
    {"max_categories": 1, "categorical_imputation": "constant"},
], ids=["constant-median", "fill-value", "other-group", "all-other"])
def test_every_preprocessing_option(preprocessing: dict[str, Any]) -> None:
    train = records(200, seed=3)
    loaded = loaded_model("classification", train, MIXED, classes=[0, 1, 2], **preprocessing)
    fresh = [*records(60, seed=4), dict(train[1], city="tokyo")]
    ours = assert_matches_predict(loaded, fresh, MIXED)
    assert ours["label"].dtype == np.int64


def test_numbers_as_class_labels_and_no_standardization() -> None:
    loaded = loaded_model("classification", records(120, seed=5), MIXED, standardize=False,
                          classes=[0.5, 1.5], dtype="float64")
    ours = assert_matches_predict(loaded, records(30, seed=6), MIXED)
    assert ours["label"].dtype == np.float64


def test_numeric_only_without_indicators_keeps_one_input() -> None:
    """Without columns added by the steps, the graph keeps its single ``input`` matrix, and a
    NaN in it is imputed as ``/predict`` imputes a null."""
    train = records(150, seed=7, categorical=False)
    loaded = loaded_model("regression", train, NUMERIC, missing_indicators=False)
    fresh = records(40, seed=8, categorical=False)
    X = np.array([[np.nan if row[k] is None else row[k] for k in NUMERIC] for row in fresh])
    ours = run(to_onnx(loaded), {"input": X})["output"]
    predictions, _ = predict(loaded, read_inputs(loaded, fresh)[0])
    np.testing.assert_allclose(ours, np.asarray(predictions), atol=1e-5, rtol=1e-5)


def test_unknown_error_fails_in_the_runtime_too() -> None:
    train = records(100, seed=9)
    loaded = loaded_model("classification", train, MIXED, classes=["a", "b"], unknown="error")
    assert_matches_predict(loaded, records(20, seed=10), MIXED)
    with pytest.raises(Exception, match="OneHotEncoder|not in|unknown|Unknown"):
        run(to_onnx(loaded), feeds([dict(train[0], city="tokyo")], MIXED))


def test_metadata_properties() -> None:
    loaded = loaded_model("classification", records(60, seed=11), MIXED, classes=["x", "y"])
    model = onnx.load_from_string(to_onnx(loaded))
    props = {p.key: p.value for p in model.metadata_props}
    assert json.loads(props["classes"]) == ["x", "y"] and props["task"] == "classification"
    assert json.loads(props["feature_names"]) == list(MIXED)
    assert json.loads(props["feature_kinds"]) == list(MIXED.values())
    assert props["inputs"] == "columns" and props["descent_version"]
    assert {o.domain for o in model.opset_import} == {"", "ai.onnx.ml"}
    assert {"LabelEncoder", "OneHotEncoder", "IsNaN", "Where", "Concat"} <= {
        n.op_type for n in model.graph.node}


def test_columns_named_like_the_graphs_own_tensors() -> None:
    """``mean``, ``scale``, ``column0`` are the graph's names too: the graph's own are renamed."""
    kinds = {"scale": "numeric", "mean": "categorical", "column0": "numeric", "W0": "numeric"}
    rows = [{"scale": float(i % 5) if i % 4 else None, "mean": "ab"[i % 2] if i % 3 else None,
             "column0": i / 7, "W0": -i / 3} for i in range(40)]
    loaded = loaded_model("classification", rows, kinds, classes=["x", "y"])
    assert_matches_predict(loaded, rows, kinds)
    graph = onnx.load_from_string(to_onnx(loaded)).graph
    assert [i.name for i in graph.input] == list(kinds)


def test_a_column_named_like_an_output_is_refused() -> None:
    kinds = {"label": "categorical", "age": "numeric"}
    rows = [{"label": "a", "age": 1.0}, {"label": "b", "age": None}] * 5
    loaded = loaded_model("classification", rows, kinds, classes=["x", "y"])
    with pytest.raises(NameClash, match="'label'"):
        to_onnx(loaded)


@pytest.mark.parametrize("kinds", [{"city": "categorical"},
                                   {"plan": "categorical", "age": "numeric"}],
                         ids=["categorical-only", "one-of-each"])
def test_small_shapes(kinds: dict[str, str]) -> None:
    train = records(80, seed=12)
    loaded = loaded_model("regression", train, kinds)
    assert_matches_predict(loaded, [*records(20, seed=13), dict(train[0], city="tokyo")], kinds)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_scaled_regression_targets_after_the_columns(dtype: str) -> None:
    """Column steps in front, the targets' scaling (Mul/Add in double) behind the network."""
    targets = TargetScaler(np.array([1e4, -50.0]), np.array([300.0, 2.5]))
    loaded = loaded_model("regression", records(150, seed=14), MIXED, dtype=dtype,
                          targets=targets)
    ours = assert_matches_predict(loaded, records(40, seed=15), MIXED)
    assert np.abs(ours["output"][:, 0]).mean() > 1000
    nodes = [n.op_type for n in onnx.load_from_string(to_onnx(loaded)).graph.node]
    assert nodes[-3:] == ["Cast", "Mul", "Add"]
