"""A trained model as an ONNX graph: the same numbers as ``service.inference.predict``.

The graph, built from neutral node lists (``worker.pipeline.onnx``) and encoded with the ``onnx``
package's helper API (``encode``)::

    inputs                 one per raw column, named as the column, [N, 1]: double for a
                           numeric column (NaN = missing), string for a categorical one ("" =
                           missing) — when the model's column steps add columns (categorical
                           columns, missing indicators); otherwise one ``input`` [N,
                           n_features] double (NaN = missing, imputed when the model imputes)
    the pipeline's steps   ``Pipeline.onnx_graph``: imputation (IsNaN/Where), missing
                           indicators, one-hot encoding (ai.onnx.ml LabelEncoder →
                           OneHotEncoder), Concat; standardization (Sub/Div); Cast to the
                           network's dtype
    the network            Gemm + activation per dense layer (``network``)
    after the network      the regression targets' scaling undone (Mul/Add in double) when
                           the model scaled them, else a Cast to double
    outputs                ``output`` [N, n_outputs] double: class
                           probabilities in the order of the model's ``classes``, or the
                           regression values; classification adds ``label`` [N]: the class of
                           the largest probability (ArgMax → Gather), as ``/predict`` answers

Metadata properties: ``descent_version``, ``task``, ``classes`` (JSON), ``feature_names`` and
``feature_kinds`` (JSON, in column order), ``inputs`` (``"columns"`` or ``"matrix"``).
"""

from __future__ import annotations

import json
from typing import Any, Protocol

import numpy as np
import onnx

from service.version import VERSION
from worker.pipeline.labels import label_nodes
from worker.pipeline.onnx import ONNX_DOUBLE, Graph, Node

from .encode import IR_VERSION, ML_OPSET, OPSET, NameClash, to_model
from .network import network_graph

__all__ = ["IR_VERSION", "ML_OPSET", "OPSET", "NameClash", "build_model", "to_onnx"]

ONNX_DTYPES = {np.dtype(np.float32): onnx.TensorProto.FLOAT,
               np.dtype(np.float64): onnx.TensorProto.DOUBLE}


DESCENT_VERSION = VERSION


class _Loaded(Protocol):
    @property
    def net(self) -> Any: ...

    @property
    def steps(self) -> Any: ...

    @property
    def task(self) -> str: ...

    @property
    def classes(self) -> list[Any] | None: ...

    @property
    def columns(self) -> list[tuple[str, str]] | None: ...


def _metadata(loaded: _Loaded, graph: Graph) -> dict[str, str]:
    columns = loaded.columns or [(f"x{j}", "numeric") for j in range(loaded.steps.n_features)]
    per_column = [i.name for i in graph.inputs] == [name for name, _ in columns]
    return {
        "descent_version": DESCENT_VERSION, "task": loaded.task,
        "classes": json.dumps(loaded.classes), "inputs": "columns" if per_column else "matrix",
        "feature_names": json.dumps([name for name, _ in columns]),
        "feature_kinds": json.dumps([kind for _, kind in columns]),
    }


def build_model(loaded: _Loaded) -> onnx.ModelProto:
    """``service.inference.LoadedModel`` → the checked ``ModelProto`` (pipeline included)."""
    net = loaded.net
    dtype = np.dtype(net.dtype)
    if dtype not in ONNX_DTYPES:
        raise ValueError(f"cannot export a {dtype} model; expected float32 or float64")
    params = [np.asarray(p) for p in net.params]
    graph = loaded.steps.onnx_graph("input")
    network = network_graph(params, list(net.activations), dtype, graph.output,
                            "network_output")
    graph.add(network.nodes, network.initializers)
    targets = getattr(loaded, "targets", None)  # regression targets scaled in training
    if targets is not None:
        graph.add(*targets.onnx_nodes("network_output", "output"))
    else:
        graph.nodes.append(Node("Cast", ["network_output"], "output", {"to": ONNX_DOUBLE}))
    n_outputs = int(params[-1].shape[0])
    outputs: list[tuple[str, int, list[str | int]]] = [
        ("output", ONNX_DOUBLE, ["N", n_outputs])]
    if loaded.task == "classification" and loaded.classes:
        nodes, initializers = label_nodes("output", loaded.classes)
        graph.add(nodes, initializers)
        label_type = onnx.helper.np_dtype_to_tensor_dtype(initializers["classes"].dtype)
        outputs.append(("label", label_type, ["N"]))
    return to_model(graph, outputs, _metadata(loaded, graph), ("descent", DESCENT_VERSION))


def to_onnx(loaded: _Loaded) -> bytes:
    """The model as ONNX bytes."""
    return build_model(loaded).SerializeToString()
