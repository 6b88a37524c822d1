"""``network.initial_weights``: the parameters a train job starts from instead of a random init
(docs/learn.md trains the classic 2-2-1 example from fixed weights).

One ``{"W": [[…]], "b": […]}`` per layer, hidden layers first and the output layer last, in
the weights file's layout (docs/api.md "Models"): layer ``i``'s ``W`` has shape
``(fan_in, fan_out)`` — row ``r`` holds the weights leaving input ``r`` — and ``b`` shape
``(fan_out,)``. This module checks the values (finite numbers, rectangular rows);
``layer_shape_errors`` checks the shapes once the network's sizes are known (the API against the
dataset, the engine against the data it trains on). Pure Python.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .schema import Field, Loc, SpecError

LAYER_KEYS = ("W", "b")


def _numbers(value: Any, loc: Loc) -> list[float]:
    if not isinstance(value, list):
        raise SpecError(loc, f"expected a list of numbers, got {type(value).__name__}")
    for i, item in enumerate(value):
        number = isinstance(item, int | float) and not isinstance(item, bool)
        if not number or not math.isfinite(item):
            raise SpecError((*loc, i), f"expected a finite number, got {item!r}")
    return [float(item) for item in value]


def _layer(value: Any, loc: Loc) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise SpecError(loc, "expected an object {W, b}")
    for key in value:
        if key not in LAYER_KEYS:
            raise SpecError(loc, f"unknown field {key!r}; expected W and b")
    for key in LAYER_KEYS:
        if key not in value:
            raise SpecError((*loc, key), "required")
    rows = value["W"]
    if not isinstance(rows, list) or not rows:
        raise SpecError((*loc, "W"), "expected a non-empty list of rows (one per input)")
    W = [_numbers(row, (*loc, "W", r)) for r, row in enumerate(rows)]
    if any(len(row) != len(W[0]) for row in W):
        raise SpecError((*loc, "W"), "rows of different lengths; every row needs one weight "
                                     "per unit of the layer")
    return {"W": W, "b": _numbers(value["b"], (*loc, "b"))}


@dataclass(frozen=True)
class InitialWeights(Field):
    """A list of ``{W, b}`` per layer (``null`` = random init from ``network.init``)."""

    def _fill(self, value: Any, loc: Loc) -> list[dict[str, Any]]:
        if not isinstance(value, list) or not value:
            raise SpecError(loc, "expected a list of {W, b} objects, one per layer")
        return [_layer(layer, (*loc, i)) for i, layer in enumerate(value)]

    def api_annotation(self) -> Any:
        """The pydantic type (``service.specs.models``); the values are checked by ``fill``."""
        return list[dict[str, Any]]

    def _schema(self) -> dict[str, Any]:
        numbers = {"type": "array", "items": {"type": "number"}}
        layer = {"type": "object", "required": list(LAYER_KEYS), "additionalProperties": False,
                 "properties": {"W": {"type": "array", "items": numbers}, "b": numbers}}
        return {"type": "array", "items": layer, "minItems": 1}


INITIAL_WEIGHTS = InitialWeights(None, nullable=True, doc=(
    "Start from these parameters instead of a random init: one {W, b} per layer (hidden "
    "layers, then the output layer), W of shape (fan_in, fan_out), b of shape (fan_out,)"))


def layer_shape_errors(weights: Sequence[Mapping[str, Any]], sizes: Sequence[int]) -> list[
        SpecError]:
    """Every mismatch between ``weights`` and a network of ``sizes`` ``[n_inputs, …,
    n_outputs]``, each at its field (``network.initial_weights[1].W``)."""
    loc: Loc = ("network", "initial_weights")
    layers = len(sizes) - 1
    if len(weights) != layers:
        return [SpecError(loc, f"{len(weights)} layers given; the network has {layers} "
                               "(each hidden layer, then the output layer)")]
    errors = []
    for i, (layer, fan_in, fan_out) in enumerate(zip(weights, sizes[:-1], sizes[1:],
                                                     strict=True)):
        W, b = layer["W"], layer["b"]
        shape = (len(W), len(W[0]) if W else 0)
        if shape != (fan_in, fan_out):
            errors.append(SpecError((*loc, i, "W"), (
                f"shape {shape}; layer {i} needs (fan_in, fan_out) = ({fan_in}, {fan_out})")))
        if len(b) != fan_out:
            errors.append(SpecError((*loc, i, "b"), (
                f"{len(b)} biases; layer {i} needs fan_out = {fan_out}")))
    return errors
