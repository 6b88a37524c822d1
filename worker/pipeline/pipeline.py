"""The fitted pipeline: a dataset's raw feature columns → the network's input matrix.

Fitted on the training rows only (``Pipeline.fit``), stored with the model without pickle
(``to_arrays`` / ``from_arrays``), and applied by every door through ``transform``: training,
online predict, batch predict — and the ONNX export through ``onnx_graph``, the same steps as
graph nodes. The steps: the column steps (``preprocess``: imputation, missing indicators,
one-hot encoding of a ``Table``'s columns; absent in models trained before columns had kinds),
then standardization (``standardize``) of the numeric block, the one-hot and indicator columns
passing with mean 0 and scale 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .onnx import ONNX_DOUBLE, ONNX_FLOAT, Graph, Input, Node
from .preprocess import Preprocessor
from .standardize import Standardizer
from .table import Table


@dataclass(frozen=True, eq=False)
class Pipeline:
    """``n_features`` raw columns in; ``transform`` gives the network's inputs ``(n, width)``
    in ``dtype`` (encoded by ``preprocessor`` when set, standardized when ``standardizer`` is)."""

    n_features: int
    dtype: np.dtype
    standardizer: Standardizer | None = None
    preprocessor: Preprocessor | None = None

    @classmethod
    def fit(cls, data: Table | np.ndarray, *, standardize: bool, dtype: Any,
            preprocessing: Mapping[str, Any] | None = None) -> Pipeline:
        """Fit on the training rows: a ``Table`` (column steps, then standardization of the
        numeric block) or a numeric matrix ``(n, n_features)`` (standardization only)."""
        dtype = np.dtype(dtype)
        if not isinstance(data, Table):
            scaler = Standardizer.fit(data, dtype) if standardize else None
            return cls(int(data.shape[1]), dtype, scaler)
        pre = Preprocessor.fit(data, preprocessing)
        scaler = _padded_scaler(pre, data, dtype) if standardize else None
        return cls(len(pre.columns), dtype, scaler, pre)

    @property
    def width(self) -> int:
        """Columns of the network's input."""
        return self.preprocessor.width if self.preprocessor is not None else self.n_features

    @property
    def columns(self) -> list[tuple[str, str]] | None:
        """``(name, kind)`` of each raw column (None for a model without column steps)."""
        return None if self.preprocessor is None else list(self.preprocessor.columns)

    def transform(self, X: Any) -> np.ndarray:
        """Raw rows — a ``Table`` with the model's columns, or ``(n, n_features)`` numbers
        (NaN = missing) — → the network's inputs ``(n, width)``, C-contiguous."""
        if self.preprocessor is not None:
            if not isinstance(X, Table):
                X = Table.from_matrix(_checked(X, self.n_features), self.preprocessor.names)
            X = self.preprocessor.transform(X)
        elif isinstance(X, Table):
            X = X.matrix()
        X = _checked(X, self.width)
        if self.standardizer is not None:
            return self.standardizer.transform(X)
        return np.ascontiguousarray(X, dtype=self.dtype)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The fitted state as named arrays: ``mean``/``scale`` when standardizing, the column
        steps' ``pre_*`` (``preprocess``) when there are any."""
        arrays = self.standardizer.to_arrays() if self.standardizer is not None else {}
        if self.preprocessor is not None:
            arrays.update(self.preprocessor.to_arrays())
        return arrays

    @classmethod
    def from_arrays(
        cls, arrays: Mapping[str, np.ndarray], *, n_features: int, dtype: Any
    ) -> Pipeline:
        scaler = None
        if "mean" in arrays:
            scaler = Standardizer.of(arrays["mean"], arrays["scale"], dtype)
        pre = Preprocessor.from_arrays(arrays) if "pre_meta" in arrays else None
        if pre is not None and len(pre.columns) != n_features:
            raise ValueError(f"the pipeline takes {len(pre.columns)} columns, not {n_features}")
        return cls(n_features, np.dtype(dtype), scaler, pre)

    def onnx_graph(self, input_name: str = "input") -> Graph:
        """The steps as ONNX nodes, ending in the network's input ``[N, width]`` in ``dtype``.

        Inputs: one per raw column (``Preprocessor.onnx_graph``) when the column steps add
        columns (categorical columns, missing indicators); otherwise the single ``input_name``
        ``[N, n_features]`` double, NaN cells imputed when the model has column steps. Then
        ``Standardizer.onnx_nodes``, or a ``Cast`` to a float32 network's dtype."""
        pre = self.preprocessor
        if pre is not None:
            graph = pre.onnx_graph(input_name if pre.plain else None)
        else:
            graph = Graph(output=input_name,
                          inputs=[Input(input_name, ONNX_DOUBLE, self.n_features)])
        if self.standardizer is not None:
            nodes, initializers, graph.output = self.standardizer.onnx_nodes(graph.output)
            graph.add(nodes, initializers)
        elif self.dtype != np.float64:
            graph.nodes.append(Node("Cast", [graph.output], "input_cast", {"to": ONNX_FLOAT}))
            graph.output = "input_cast"
        return graph


def _checked(X: Any, width: int) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != width:
        raise ValueError(f"X: expected shape (n, {width}), got {X.shape}")
    return X


def _padded_scaler(pre: Preprocessor, table: Table, dtype: np.dtype) -> Standardizer | None:
    """Standardization of the imputed numeric block (fitted on it), extended with mean 0 and
    scale 1 over the indicator and one-hot columns so that it applies to the whole input."""
    d = pre.numeric_width
    if d == 0:
        return None
    fitted = Standardizer.fit(pre.numeric(table), dtype)
    rest = pre.width - d
    return Standardizer.of(np.concatenate([np.asarray(fitted.mean, np.float64), np.zeros(rest)]),
                           np.concatenate([np.asarray(fitted.scale, np.float64), np.ones(rest)]),
                           dtype)
