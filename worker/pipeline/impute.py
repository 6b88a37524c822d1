"""Numeric imputation and missing indicators, fitted on the training rows.

For numeric columns ``X`` ``(n, d)`` (float64, NaN = missing) the fitted state is one fill value
per column, ``fill`` ``(d,)``, and the columns that get an indicator, ``indicated`` ``(k,)``::

    mean:      fill_j = Σ_i x_ij [x_ij observed] / #observed_j
    median:    fill_j = the median of column j's observed training cells
    constant:  fill_j = fill_value
    (a column with no observed training cell takes fill_value under every strategy)

    transform: x'_ij = fill_j where x_ij is NaN, else x_ij              → (n, d)
               m_ij  = 1.0 where x_ij is NaN, else 0.0, for j ∈ indicated → (n, k)

``indicated`` is every numeric column that had a missing cell in the training rows (when
``missing_indicators`` is on), in column order; a column complete in training gets none, so a
dataset without missing cells keeps its width.

ONNX (``onnx_nodes``), on the numeric columns side by side ``X`` ``[N, d]`` double::

    IsNaN(X) → mask;  Where(mask, fill, X) → filled;  Cast(Gather(mask, indicated, axis 1)) → m

``Where``/``IsNaN`` rather than ``ai.onnx.ml``'s ``Imputer``: onnxruntime runs ``Imputer`` on
float32 and int64 only, and the columns come in as double (the numbers ``/predict`` reads).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .onnx import ONNX_DOUBLE, Node

NUMERIC_STRATEGIES = ("mean", "median", "constant")


@dataclass(frozen=True, eq=False)
class NumericImputer:
    """``fill`` ``(d,)`` float64; ``indicated`` ``(k,)`` int64 column indices into ``0..d-1``."""

    fill: np.ndarray
    indicated: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray, *, strategy: str = "mean", fill_value: float = 0.0,
            indicators: bool = True) -> NumericImputer:
        """From the training rows ``X`` ``(n, d)`` float64 (NaN = missing)."""
        if strategy not in NUMERIC_STRATEGIES:
            raise ValueError(f"numeric imputation: unknown strategy {strategy!r}")
        X = np.asarray(X, dtype=np.float64)
        # Column by column where cells are missing, so that no (n, d) temporary is made: a
        # complete column's statistics come from the whole matrix at once.
        gappy = _columns_with_nan(X)
        fill = np.full(X.shape[1], float(fill_value))
        if strategy != "constant" and X.shape[0]:
            with np.errstate(all="ignore"):  # (a gappy column's NaN is replaced below)
                fill = X.mean(axis=0) if strategy == "mean" else np.median(X, axis=0)
                for j in gappy:
                    column = X[:, j]
                    observed = column[~np.isnan(column)]
                    if not observed.size:
                        fill[j] = float(fill_value)
                    else:
                        fill[j] = observed.mean() if strategy == "mean" else np.median(observed)
            for j in np.flatnonzero(~np.isfinite(fill)):  # |x| near 1e308: the sum overflowed
                observed = X[:, j][~np.isnan(X[:, j])]
                unit = np.abs(observed).max()  # mean(x) = u·mean(x/u), median likewise
                scaled = observed / unit
                fill[j] = unit * (scaled.mean() if strategy == "mean" else np.median(scaled))
        indicated = gappy if indicators else np.empty(0, np.int64)
        return cls(np.asarray(fill, dtype=np.float64), indicated.astype(np.int64))

    @property
    def width(self) -> int:
        """Columns out: the filled ones and the indicators."""
        return int(self.fill.shape[0] + self.indicated.shape[0])

    def transform(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(filled (n, d), indicators (n, k))``, float64; ``filled`` is ``X`` itself when no
        cell is missing (callers never write into it)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.fill.shape[0]:
            raise ValueError(f"numeric imputation: expected (n, {self.fill.shape[0]}), "
                             f"got {X.shape}")
        if not _columns_with_nan(X).size:  # nothing to fill: the input itself, no copy
            return X, np.zeros((X.shape[0], self.indicated.shape[0]), np.float64)
        missing = np.isnan(X)
        filled = np.where(missing, self.fill, X)
        return filled, missing[:, self.indicated].astype(np.float64)

    def onnx_nodes(self, x: str, prefix: str = "impute"
                   ) -> tuple[list[Node], dict[str, np.ndarray], str, str | None]:
        """``(nodes, initializers, filled, indicators | None)`` for ``x`` ``[N, d]`` double:
        ``filled`` ``[N, d]`` and the indicator columns ``[N, k]`` (None when k = 0), double."""
        mask, fill, filled = f"{prefix}_missing", f"{prefix}_fill", f"{prefix}_filled"
        nodes = [Node("IsNaN", [x], mask), Node("Where", [mask, fill, x], filled)]
        initializers = {fill: self.fill.astype(np.float64)}
        if self.indicated.size == 0:
            return nodes, initializers, filled, None
        picked, out = f"{prefix}_indicated", f"{prefix}_indicators"
        initializers[picked] = self.indicated.astype(np.int64)
        nodes += [Node("Gather", [mask, picked], f"{prefix}_indicator_mask", {"axis": 1}),
                  Node("Cast", [f"{prefix}_indicator_mask"], out, {"to": ONNX_DOUBLE})]
        return nodes, initializers, filled, out

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"fill": self.fill.copy(), "indicated": self.indicated.copy()}

    @classmethod
    def of(cls, fill: np.ndarray, indicated: np.ndarray) -> NumericImputer:
        fill = np.array(fill, dtype=np.float64).reshape(-1)
        indicated = np.array(indicated, dtype=np.int64).reshape(-1)
        if not np.all(np.isfinite(fill)):
            raise ValueError("numeric imputation: fill values must be finite")
        if indicated.size and (indicated.min() < 0 or indicated.max() >= fill.shape[0]):
            raise ValueError("numeric imputation: indicator columns out of range")
        return cls(fill, indicated)


def _columns_with_nan(X: np.ndarray) -> np.ndarray:
    """Indices of the columns of ``X`` holding a NaN (found through column sums: NaN
    propagates, and no input holds an infinity)."""
    with np.errstate(all="ignore"):
        return np.flatnonzero(np.isnan(X.sum(axis=0))).astype(np.int64)
