"""Input standardization: ``(X - mean) / scale`` per column, fitted on the training rows.

``mean`` and ``scale`` are each column's mean and standard deviation (sums in float64); a column
whose scale rounds to zero in the training dtype is constant and keeps scale 1, so it maps to
zero instead of dividing by zero. ``transform`` casts the inputs to the training dtype first,
then subtracts and divides in that dtype — the arithmetic the trained network was fitted to, and
what the ONNX graph's ``Sub``/``Div`` nodes repeat.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .onnx import ONNX_FLOAT, Node


@dataclass(frozen=True, eq=False)
class Standardizer:
    """Fitted statistics, each of shape ``(n_columns,)`` in the training dtype."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray, dtype: Any) -> Standardizer:
        """From ``X`` ``(n, d)`` (the training rows)."""
        mean = X.mean(axis=0, dtype=np.float64)
        std = X.std(axis=0, dtype=np.float64)
        return cls.of(mean, np.where(std.astype(dtype) > 0, std, 1.0), dtype)

    @classmethod
    def of(cls, mean: Any, scale: Any, dtype: Any) -> Standardizer:
        """From stored statistics, checked: finite means, positive scales."""
        mean, scale = (np.array(v, dtype=dtype).reshape(-1) for v in (mean, scale))
        if mean.shape != scale.shape:
            raise ValueError("standardization: mean and scale need the same shape")
        if not (np.all(np.isfinite(mean)) and np.all(scale > 0)):
            raise ValueError("standardization: mean must be finite and scale positive")
        return cls(mean, scale)

    @property
    def width(self) -> int:
        return int(self.mean.shape[0])

    def transform(self, X: np.ndarray) -> np.ndarray:
        """``(X - mean) / scale`` in the statistics' dtype, a new C-contiguous array."""
        X = np.asarray(X, dtype=self.mean.dtype)
        return np.ascontiguousarray((X - self.mean) / self.scale)

    def astype(self, dtype: Any) -> Standardizer:
        return Standardizer.of(self.mean, self.scale, dtype)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean.copy(), "scale": self.scale.copy()}

    def onnx_nodes(self, input_name: str) -> tuple[list[Node], dict[str, np.ndarray], str]:
        """``(nodes, initializers, output)`` for a double input: ``Cast`` to the statistics'
        dtype (omitted for float64), then ``Sub``/``Div`` — the arithmetic of ``transform``."""
        nodes, x = [], input_name
        if self.mean.dtype != np.float64:
            nodes.append(Node("Cast", [x], "input_cast", {"to": ONNX_FLOAT}))
            x = "input_cast"
        nodes += [Node("Sub", [x, "mean"], "centered"),
                  Node("Div", ["centered", "scale"], "standardized")]
        return nodes, self.to_arrays(), "standardized"
