"""ONNX export: the graph is valid ONNX and onnxruntime gives our predictions (atol 1e-5).

Unit tests build ``LoadedModel`` in memory from a ``worker.nn.Network`` with random parameters and
compare onnxruntime's output with ``service.inference.predict`` for every activation, both
dtypes, classification and regression, with and without standardization (of the inputs, and of
regression targets). The graph takes and gives float64, as ``/predict`` does. Models with column
steps: ``test_onnx_tables``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from service.inference import LoadedModel, predict
from service.onnx_export import OPSET, to_onnx
from worker.nn import Network
from worker.pipeline import TargetScaler

HIDDEN = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu")


def loaded_model(
    *, task: str, hidden: list[str], output: str | None = None, dtype: str = "float32",
    standardize: bool = True, n_features: int = 5, n_outputs: int = 3, seed: int = 0,
    scale_targets: bool = False,
) -> LoadedModel:
    rng = np.random.default_rng(seed)
    network: dict[str, Any] = {"hidden_layers": [{"units": 6 + i, "activation": a}
                                                 for i, a in enumerate(hidden)]}
    if output is not None:
        network["output_activation"] = output
    net = Network.from_spec(network, n_features, n_outputs, dtype=dtype, task=task, seed=seed)
    net.params = [rng.normal(scale=0.8, size=p.shape) for p in net.params]
    if standardize:
        net.standardization = (rng.normal(scale=3.0, size=n_features),
                               rng.uniform(0.2, 4.0, size=n_features))
    classes = list(range(n_outputs)) if task == "classification" else None
    targets = None
    if scale_targets:
        targets = TargetScaler(rng.normal(scale=1e4, size=n_outputs),
                               rng.uniform(0.5, 300.0, size=n_outputs))
    return LoadedModel(id="mdl_test", tenant_id="ten_test", task=task, classes=classes,
                       n_features=n_features, n_targets=1 if classes else n_outputs, net=net,
                       standardization=net.standardization, targets=targets)


def run_onnx(model_bytes: bytes, X: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    output: np.ndarray = session.run(["output"], {"input": X})[0]
    return output


def expected(loaded: LoadedModel, X: np.ndarray) -> np.ndarray:
    predictions, probabilities = predict(loaded, X)
    if probabilities is not None:
        return np.asarray(probabilities)
    return np.asarray(predictions, dtype=np.float64).reshape(len(X), -1)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("standardize", [True, False], ids=["standardized", "raw"])
@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("activation", HIDDEN)
def test_onnxruntime_matches_predict(activation: str, task: str, standardize: bool,
                                     dtype: str) -> None:
    loaded = loaded_model(task=task, hidden=[activation, "tanh"], dtype=dtype,
                          standardize=standardize, n_outputs=3 if task == "classification" else 2)
    content = to_onnx(loaded)
    model = onnx.load_from_string(content)
    onnx.checker.check_model(model, full_check=True)
    X = np.random.default_rng(1).normal(scale=4.0, size=(64, 5))
    np.testing.assert_allclose(run_onnx(content, X), expected(loaded, X), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_scaled_targets_are_scaled_back_in_the_graph(dtype: str) -> None:
    """Regression targets around 1e4: Cast → Mul(target_scale) → Add(target_mean) in double
    after the network give /predict's numbers within 1e-5 (relative)."""
    loaded = loaded_model(task="regression", hidden=["relu"], dtype=dtype, n_outputs=2,
                          scale_targets=True)
    X = np.random.default_rng(4).normal(loc=1.7e9, scale=5e3, size=(50, 5))
    ours = run_onnx(to_onnx(loaded), X)
    assert ours.dtype == np.float64 and np.abs(ours).mean() > 100
    np.testing.assert_allclose(ours, expected(loaded, X), rtol=1e-5, atol=1e-5)
    graph = onnx.load_from_string(to_onnx(loaded)).graph
    assert [n.op_type for n in graph.node][-3:] == ["Cast", "Mul", "Add"]


@pytest.mark.parametrize("output", ["identity", "sigmoid", "tanh", "relu", "softmax"])
def test_every_output_activation(output: str) -> None:
    task = "classification" if output in ("softmax", "sigmoid") else "regression"
    loaded = loaded_model(task=task, hidden=["relu"], output=output)
    X = np.random.default_rng(2).normal(size=(32, 5))
    np.testing.assert_allclose(run_onnx(to_onnx(loaded), X), loaded.net.forward(X), atol=1e-5)


def test_no_hidden_layers_and_a_single_output() -> None:
    loaded = loaded_model(task="regression", hidden=[], n_outputs=1)
    X = np.random.default_rng(3).normal(size=(10, 5))
    np.testing.assert_allclose(run_onnx(to_onnx(loaded), X), expected(loaded, X), atol=1e-5)


def test_graph_shape_names_and_nodes() -> None:
    loaded = loaded_model(task="classification", hidden=["relu", "leaky_relu", "elu"])
    model = onnx.load_from_string(to_onnx(loaded))
    graph = model.graph
    assert [i.name for i in graph.input] == ["input"]
    assert [o.name for o in graph.output] == ["output", "label"]
    dims = graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "N" and dims[1].dim_value == 5
    assert graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    assert graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    assert [n.op_type for n in graph.node] == ["Sub", "Div", "Cast", "Gemm", "Relu", "Gemm",
                                               "LeakyRelu", "Gemm", "Elu", "Gemm", "Softmax",
                                               "Cast", "ArgMax", "Gather"]
    attributes = {n.op_type: {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
                  for n in graph.node}
    assert attributes["LeakyRelu"]["alpha"] == pytest.approx(0.01)
    assert attributes["Elu"]["alpha"] == 1.0 and attributes["Softmax"]["axis"] == -1
    assert model.opset_import[0].version == OPSET >= 13


def test_float64_models_stay_float64() -> None:
    loaded = loaded_model(task="regression", hidden=["elu"], dtype="float64", n_outputs=1)
    graph = onnx.load_from_string(to_onnx(loaded)).graph
    assert graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    assert graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
