"""Pipeline steps as ONNX nodes, in a neutral form the exporter encodes (``service.onnx_export``).

A step contributes nodes (operator, inputs, outputs, attributes) and named constant tensors
(initializers); names are unique within the graph because each step prefixes its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

ONNX_FLOAT, ONNX_DOUBLE = 1, 11  # TensorProto.DataType of float32 and float64 (``Cast``'s ``to``)

@dataclass(frozen=True)
class Node:
    op: str
    inputs: list[str]
    output: str
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Graph:
    """What a pipeline adds in front of the network: nodes, initializers, its output's name."""

    nodes: list[Node] = field(default_factory=list)
    initializers: dict[str, np.ndarray] = field(default_factory=dict)
    output: str = "input"
