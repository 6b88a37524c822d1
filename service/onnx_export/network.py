"""The dense network as ONNX nodes (``worker.pipeline.onnx.Node``), in the network's dtype.

One ``Gemm`` per dense layer (``X·W + b``, W is ``(fan_in, fan_out)``) and its activation.
Activations map one to one: Identity, Sigmoid, Tanh, Relu, LeakyRelu (alpha = the engine's
``LEAKY_SLOPE``), Elu (alpha 1), Softmax (axis -1) — except LeakyRelu and Elu of float64 models,
which onnxruntime implements for float32 only, spelled with the engine's own formulas instead:
``max(z, slope z)`` and ``max(z, 0) + (exp(min(z, 0)) - 1)``.
"""

from __future__ import annotations

import numpy as np

from worker.nn.activations import LEAKY_SLOPE
from worker.pipeline.onnx import Graph, Node

# activation name → (ONNX op, attributes)
ACTIVATION_OPS: dict[str, tuple[str, dict[str, float | int]]] = {
    "identity": ("Identity", {}),
    "sigmoid": ("Sigmoid", {}),
    "tanh": ("Tanh", {}),
    "relu": ("Relu", {}),
    "leaky_relu": ("LeakyRelu", {"alpha": LEAKY_SLOPE}),
    "elu": ("Elu", {"alpha": 1.0}),
    "softmax": ("Softmax", {"axis": -1}),
}


def _activation(name: str, z: str, out: str, dtype: np.dtype, graph: Graph) -> None:
    if dtype == np.float32 or name not in ("leaky_relu", "elu"):
        op, attributes = ACTIVATION_OPS[name]
        graph.nodes.append(Node(op, [z], out, dict(attributes)))
        return
    graph.initializers.update({"leaky_slope": np.array(LEAKY_SLOPE, dtype),
                               "zero": np.array(0.0, dtype), "one": np.array(1.0, dtype)})
    if name == "leaky_relu":
        graph.nodes += [Node("Mul", [z, "leaky_slope"], f"{z}_leak"),
                        Node("Max", [z, f"{z}_leak"], out)]
        return
    graph.nodes += [Node("Min", [z, "zero"], f"{z}_neg"), Node("Exp", [f"{z}_neg"], f"{z}_exp"),
                    Node("Sub", [f"{z}_exp", "one"], f"{z}_expm1"),
                    Node("Relu", [z], f"{z}_pos"), Node("Add", [f"{z}_pos", f"{z}_expm1"], out)]


def network_graph(params: list[np.ndarray], activations: list[str], dtype: np.dtype,
                  x: str, output: str) -> Graph:
    """Dense layers ``params`` = ``[W0, b0, W1, b1, …]`` reading ``x``, writing ``output``."""
    if len(params) != 2 * len(activations):
        raise ValueError(f"{len(params)} parameter arrays for {len(activations)} layers")
    graph = Graph(output=output)
    current, last = x, len(activations) - 1
    for i, activation in enumerate(activations):
        W, b = np.asarray(params[2 * i], dtype), np.asarray(params[2 * i + 1], dtype).reshape(-1)
        graph.initializers.update({f"W{i}": W, f"b{i}": b})
        graph.nodes.append(Node("Gemm", [current, f"W{i}", f"b{i}"], f"z{i}"))
        current = output if i == last else f"a{i}"
        _activation(activation, f"z{i}", current, dtype, graph)
    return graph
