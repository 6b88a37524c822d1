"""Neutral graphs (``worker.pipeline.onnx``) → an ONNX ``ModelProto`` with ``onnx.helper``.

The pipeline, the network and the output steps each describe their nodes and constants; this
module only names the graph's inputs and outputs, encodes everything with the ``onnx`` package's
helper API (``make_node``, ``make_graph``, ``make_model``, ``numpy_helper.from_array``), adds
the metadata properties and checks the result (``onnx.checker.check_model``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import onnx
from onnx import helper, numpy_helper

from worker.pipeline.onnx import ML_DOMAIN, Graph

OPSET = 17  # Softmax's per-axis semantics (opset ≥ 13); every runtime since 2022 reads it
ML_OPSET = 3  # ai.onnx.ml: LabelEncoder 2 (string → int64), OneHotEncoder 1
IR_VERSION = 8  # the IR that goes with opset 17; onnxruntime ≥ 1.11 loads it


class NameClash(ValueError):
    """A column is named like an output of the graph (``output``, ``label``)."""


def _value_info(name: str, elem_type: int, shape: list[str | int]) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem_type, shape)


def _tensor(name: str, array: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(np.ascontiguousarray(array), name)


def renaming(graph: Graph, outputs: list[str]) -> dict[str, str]:
    """Tensor name → the name it gets in the file: each input's alias → the input's name (a
    column's), and a tensor of the graph's own that a column's name would shadow → a fresh
    name. ``NameClash`` when a column is named like one of the graph's ``outputs``."""
    public = {i.name for i in graph.inputs}
    for name in public:
        if name in outputs or not name:
            raise NameClash(f"column {name!r} cannot be an ONNX input name: the graph's outputs "
                            f"are {', '.join(outputs)}")
    names = {i.alias: i.name for i in graph.inputs}
    taken = public | set(names) | {n.output for n in graph.nodes} | set(graph.initializers)
    for own in ({n.output for n in graph.nodes} | set(graph.initializers)) & public:
        k = 1
        while f"{own}_{k}" in taken:
            k += 1
        names[own] = f"{own}_{k}"
        taken.add(names[own])
    return names


def to_model(graph: Graph, outputs: list[tuple[str, int, list[str | int]]],
             metadata: Mapping[str, str], producer: tuple[str, str]) -> onnx.ModelProto:
    """The checked model: ``graph``'s nodes, initializers and inputs (``[N, width]`` each),
    and ``outputs`` as ``(name, element type, shape)``."""
    names = renaming(graph, [name for name, _, _ in outputs])

    def named(name: str) -> str:
        return names.get(name, name)

    nodes = [helper.make_node(n.op, [named(x) for x in n.inputs], [named(n.output)],
                              name=f"{named(n.output)}_{n.op}", domain=n.domain or None,
                              **n.attributes) for n in graph.nodes]
    proto = helper.make_graph(
        nodes, "descent_model",
        [_value_info(i.name, i.elem_type, ["N", i.width]) for i in graph.inputs],
        [_value_info(name, elem_type, shape) for name, elem_type, shape in outputs],
        [_tensor(named(name), array) for name, array in graph.initializers.items()])
    opsets = [helper.make_opsetid("", OPSET)]
    if any(n.domain == ML_DOMAIN for n in graph.nodes):
        opsets.append(helper.make_opsetid(ML_DOMAIN, ML_OPSET))
    model = helper.make_model(proto, opset_imports=opsets, ir_version=IR_VERSION,
                              producer_name=producer[0], producer_version=producer[1])
    helper.set_model_props(model, dict(metadata))
    onnx.checker.check_model(model)
    return model
