"""A trained model as an ONNX graph: the same numbers as ``service.inference.predict``.

Graph, for inputs ``input`` ``(N, n_features)`` float64 (raw rows, as ``/predict`` takes them)::

    the pipeline's steps            ``Pipeline.onnx_graph``: Sub(mean) → Div(scale) in double
                                    when the model standardizes its inputs, then Cast to the
                                    model's dtype (float32 or float64)
    Gemm(W0, b0) → activation0      one Gemm per dense layer: X·W + b, W is (fan_in, fan_out)
    …
    Gemm(Wk, bk) → output activation
    the target scaling              Cast to double → Mul(target_scale) → Add(target_mean) when
                                    the model scaled its regression targets (else a Cast to
                                    double) → ``output`` (N, n_outputs) float64

Activations map one to one: Identity, Sigmoid, Tanh, Relu, LeakyRelu (alpha = the engine's
``LEAKY_SLOPE``), Elu (alpha 1),
Softmax (axis -1) — except LeakyRelu and Elu of float64 models, which onnxruntime implements for
float32 only, spelled with Mul/Max and Min/Exp/Sub/Relu/Add instead.

Classification outputs are the class probabilities in the order of the model's
``classes``; mapping the argmax to a label is left to the caller, as in our predict answer.

Why we write the protobuf ourselves: the ONNX format is a handful of protobuf messages
(``onnx/onnx.proto``, proto2), and encoding the few fields a dense network needs is ~60 lines.
Doing it here keeps the ``onnx`` package (and its protobuf runtime) out of the service's
dependencies; the tests check every exported model with ``onnx.checker.check_model`` and run it
in onnxruntime against our own predictions.
"""

from __future__ import annotations

import struct
from typing import Any, Protocol

import numpy as np

from worker.nn.activations import LEAKY_SLOPE
from worker.pipeline.onnx import Graph, Node

OPSET = 17  # Softmax's per-axis semantics (opset ≥ 13); every runtime since 2022 reads it
IR_VERSION = 8  # the IR that goes with opset 17; onnxruntime ≥ 1.11 loads it
PRODUCER = ("descent", "0.1.0")

# TensorProto.DataType
ONNX_DTYPES = {np.dtype(np.float32): 1, np.dtype(np.float64): 11}
# AttributeProto.AttributeType
ATTR_FLOAT, ATTR_INT = 1, 2

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


class _Loaded(Protocol):
    @property
    def net(self) -> Any: ...

    @property
    def steps(self) -> Any: ...

    @property
    def targets(self) -> Any: ...


# --- protobuf wire format (https://protobuf.dev/programming-guides/encoding/) ----------------


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64s are ten-byte two's complement
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _int(field: int, value: int) -> bytes:
    return _varint(field << 3) + _varint(value)


def _bytes(field: int, value: bytes | str) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def _float(field: int, value: float) -> bytes:
    return _varint(field << 3 | 5) + struct.pack("<f", value)


# --- ONNX messages -------------------------------------------------------------------------


def _tensor(name: str, array: np.ndarray) -> bytes:
    """TensorProto: dims=1, data_type=2, name=8, raw_data=9 (little-endian)."""
    array = np.ascontiguousarray(array)
    message = b"".join(_int(1, d) for d in array.shape)
    message += _int(2, ONNX_DTYPES[array.dtype]) + _bytes(8, name)
    return message + _bytes(9, array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes())


def _attribute(name: str, value: float | int) -> bytes:
    """AttributeProto: name=1, f=2, i=3, type=20."""
    if isinstance(value, float):
        return _bytes(1, name) + _float(2, value) + _int(20, ATTR_FLOAT)
    return _bytes(1, name) + _int(3, value) + _int(20, ATTR_INT)


def _node(op: str, inputs: list[str], output: str, attributes: dict[str, float | int]) -> bytes:
    """NodeProto: input=1, output=2, name=3, op_type=4, attribute=5."""
    message = b"".join(_bytes(1, name) for name in inputs) + _bytes(2, output)
    message += _bytes(3, f"{output}_{op.lower()}") + _bytes(4, op)
    return message + b"".join(_bytes(5, _attribute(k, v)) for k, v in attributes.items())


def _value_info(name: str, dtype: np.dtype, width: int) -> bytes:
    """ValueInfoProto name=1, type=2 → TypeProto.tensor_type=1 → elem_type=1, shape=2 → dims
    ``["N", width]`` (Dimension: dim_value=1, dim_param=2)."""
    shape = _bytes(1, _bytes(2, "N")) + _bytes(1, _int(1, width))
    tensor_type = _int(1, ONNX_DTYPES[dtype]) + _bytes(2, shape)
    return _bytes(1, name) + _bytes(2, _bytes(1, tensor_type))


def _activation(
    name: str, z: str, out: str, dtype: np.dtype, initializers: list[bytes]
) -> list[bytes]:
    """The node(s) computing activation ``name`` of ``z`` into ``out``.

    onnxruntime implements LeakyRelu and Elu for float32 only, so float64 models spell them with
    the engine's own formulas: ``max(z, slope z)`` and ``max(z, 0) + (exp(min(z, 0)) - 1)``.
    """
    if dtype == np.float32 or name not in ("leaky_relu", "elu"):
        op, attributes = ACTIVATION_OPS[name]
        return [_node(op, [z], out, attributes)]
    constants = {"leaky_slope": LEAKY_SLOPE, "zero": 0.0, "one": 1.0}
    for constant, value in constants.items():
        tensor = _tensor(constant, np.array(value, dtype))
        if tensor not in initializers:
            initializers.append(tensor)
    if name == "leaky_relu":
        return [_node("Mul", [z, "leaky_slope"], f"{z}_leak", {}),
                _node("Max", [z, f"{z}_leak"], out, {})]
    return [_node("Min", [z, "zero"], f"{z}_neg", {}), _node("Exp", [f"{z}_neg"], f"{z}_exp", {}),
            _node("Sub", [f"{z}_exp", "one"], f"{z}_expm1", {}), _node("Relu", [z], f"{z}_pos", {}),
            _node("Add", [f"{z}_pos", f"{z}_expm1"], out, {})]


def build_graph(
    params: list[np.ndarray], activations: list[str], pipeline: Graph, dtype: np.dtype,
    after: Graph | None = None,
) -> bytes:
    """The ``ModelProto`` bytes for the ``pipeline``'s steps (reading ``input``, float64),
    dense layers ``params`` = ``[W0, b0, W1, b1, …]`` in ``dtype``, and the ``after`` steps
    (reading ``network_output``, writing ``output``, float64); without them the network's
    output is cast to double."""
    if len(params) != 2 * len(activations):
        raise ValueError(f"{len(params)} parameter arrays for {len(activations)} layers")
    if after is None:
        after = Graph(nodes=[Node("Cast", ["network_output"], "output", {"to": 11})])
    # The steps' constants keep their own dtype (float64 statistics).
    initializers = [_tensor(name, np.asarray(array).reshape(-1))
                    for name, array in {**pipeline.initializers, **after.initializers}.items()]
    nodes = [_node(n.op, n.inputs, n.output, n.attributes) for n in pipeline.nodes]
    current = pipeline.output
    last = len(activations) - 1
    for i, activation in enumerate(activations):
        W, b = np.asarray(params[2 * i], dtype), np.asarray(params[2 * i + 1], dtype).reshape(-1)
        initializers += [_tensor(f"W{i}", W), _tensor(f"b{i}", b)]
        nodes.append(_node("Gemm", [current, f"W{i}", f"b{i}"], f"z{i}", {}))
        current = "network_output" if i == last else f"a{i}"
        nodes += _activation(activation, f"z{i}", current, dtype, initializers)
    nodes += [_node(n.op, n.inputs, n.output, n.attributes) for n in after.nodes]
    n_features, n_outputs = int(params[0].shape[0]), int(params[-1].shape[0])
    graph = b"".join(_bytes(1, node) for node in nodes) + _bytes(2, "descent_model")
    graph += b"".join(_bytes(5, tensor) for tensor in initializers)
    graph += _bytes(11, _value_info("input", np.dtype(np.float64), n_features))
    graph += _bytes(12, _value_info("output", np.dtype(np.float64), n_outputs))
    # ModelProto: ir_version=1, producer_name=2, producer_version=3, graph=7, opset_import=8.
    return (_int(1, IR_VERSION) + _bytes(2, PRODUCER[0]) + _bytes(3, PRODUCER[1])
            + _bytes(7, graph) + _bytes(8, _bytes(1, "") + _int(2, OPSET)))


def to_onnx(loaded_model: _Loaded) -> bytes:
    """``service.inference.LoadedModel`` → ONNX model bytes (its pipeline included)."""
    net = loaded_model.net
    dtype = np.dtype(net.dtype)
    if dtype not in ONNX_DTYPES:
        raise ValueError(f"cannot export a {dtype} model; expected float32 or float64")
    params = [np.asarray(p) for p in net.params]
    activations = list(net.activations)
    after = None
    targets = getattr(loaded_model, "targets", None)
    if targets is not None:
        nodes, initializers = targets.onnx_nodes("network_output", "output")
        after = Graph(nodes=nodes, initializers=initializers)
    return build_graph(params, activations, loaded_model.steps.onnx_graph("input"), dtype, after)
