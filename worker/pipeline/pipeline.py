"""The fitted pipeline: a dataset's raw feature columns → the network's input matrix.

Fitted on the training rows only (``Pipeline.fit``), stored with the model without pickle
(``to_arrays`` / ``from_arrays``), and applied by every door through ``transform``: training,
online predict, batch predict — and the ONNX export through ``onnx_graph``, the same steps as
graph nodes. Today's one step is standardization (``standardize``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .onnx import ONNX_FLOAT, Graph, Node
from .standardize import Standardizer


@dataclass(frozen=True, eq=False)
class Pipeline:
    """``n_features`` raw numeric columns in; ``transform`` gives the network's inputs in
    ``dtype`` (standardized when ``standardizer`` is set)."""

    n_features: int
    dtype: np.dtype
    standardizer: Standardizer | None = None

    @classmethod
    def fit(cls, X_train: np.ndarray, *, standardize: bool, dtype: Any) -> Pipeline:
        """Fit on the training rows ``X_train`` ``(n, n_features)``."""
        dtype = np.dtype(dtype)
        scaler = Standardizer.fit(X_train, dtype) if standardize else None
        return cls(int(X_train.shape[1]), dtype, scaler)

    @property
    def width(self) -> int:
        """Columns of the network's input."""
        return self.n_features

    def transform(self, X: Any) -> np.ndarray:
        """Raw rows ``(n, n_features)`` → the network's inputs ``(n, width)``, C-contiguous."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"X: expected shape (n, {self.n_features}), got {X.shape}")
        if self.standardizer is not None:
            return self.standardizer.transform(X)
        return np.ascontiguousarray(X, dtype=self.dtype)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The fitted state as named arrays (``mean``/``scale`` when standardizing)."""
        return self.standardizer.to_arrays() if self.standardizer is not None else {}

    @classmethod
    def from_arrays(
        cls, arrays: Mapping[str, np.ndarray], *, n_features: int, dtype: Any
    ) -> Pipeline:
        scaler = None
        if "mean" in arrays:
            scaler = Standardizer.of(arrays["mean"], arrays["scale"], dtype)
        return cls(n_features, np.dtype(dtype), scaler)

    def onnx_graph(self, input_name: str = "input") -> Graph:
        """The steps as ONNX nodes reading ``input_name`` (``(N, n_features)`` float64, raw rows
        as ``transform`` takes them) and ending in the network's dtype."""
        graph = Graph(output=input_name)
        if self.standardizer is not None:
            nodes, initializers, graph.output = self.standardizer.onnx_nodes(input_name)
            graph.nodes += nodes
            graph.initializers.update(initializers)
        elif self.dtype != np.float64:
            graph.nodes.append(Node("Cast", [input_name], "input_cast", {"to": ONNX_FLOAT}))
            graph.output = "input_cast"
        return graph
