"""Pipeline steps as ONNX nodes, in a neutral form the exporter encodes (``service.onnx_export``).

A step contributes nodes (operator, inputs, output, attributes, operator domain) and named
constant tensors (initializers, in their own dtype); names are unique within the graph because
each step prefixes its own. The pipeline also declares the graph's inputs (``Input``): a single
``input`` matrix, or one ``[N, 1]`` tensor per raw column. Nothing here imports ``onnx``: the
exporter turns these into protobuf with ``onnx.helper``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# TensorProto.DataType values (``Cast``'s ``to``, inputs' element types)
ONNX_FLOAT, ONNX_STRING, ONNX_INT64, ONNX_DOUBLE = 1, 8, 7, 11
ML_DOMAIN = "ai.onnx.ml"  # Imputer, LabelEncoder, OneHotEncoder, … (the classic-ML operators)


@dataclass(frozen=True)
class Node:
    op: str
    inputs: list[str]
    output: str
    attributes: dict[str, Any] = field(default_factory=dict)
    domain: str = ""  # "" is the default ai.onnx domain


@dataclass(frozen=True)
class Input:
    """A graph input: ``name``, element type (``ONNX_*``), shape ``[N, width]``. Nodes refer
    to it as ``ref`` (default: ``name``): a raw column's name is the user's and may equal a
    tensor name of the graph's own (``mean``, ``scale``), so steps use an internal alias that
    the exporter maps back to the column's name."""

    name: str
    elem_type: int
    width: int
    ref: str = ""

    @property
    def alias(self) -> str:
        return self.ref or self.name


@dataclass
class Graph:
    """What a pipeline adds in front of the network: its inputs, nodes, initializers, and the
    name of its output (the network's input)."""

    nodes: list[Node] = field(default_factory=list)
    initializers: dict[str, np.ndarray] = field(default_factory=dict)
    output: str = "input"
    inputs: list[Input] = field(default_factory=list)

    def add(self, nodes: list[Node], initializers: dict[str, np.ndarray]) -> None:
        self.nodes += nodes
        self.initializers.update(initializers)
