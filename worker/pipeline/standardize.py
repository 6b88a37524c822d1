"""Input standardization: ``(X - mean) / scale`` per column, fitted on the training rows.

Precision. ``mean`` and ``scale`` are computed and kept in float64, and ``transform`` centers
and scales in float64, casting to the network's dtype only afterwards. Casting first would round
the raw values: a timestamp column (1.7e9 + seconds) in float32 keeps steps of 128 s, and its
distinct values collapse to a few before the mean is subtracted. The ONNX graph repeats the same
arithmetic (``Sub``/``Div`` in double, then ``Cast``).

Constant columns. A column is treated as constant, and keeps scale 1 (it maps to about zero
instead of being divided by noise), when its variance ``var`` over ``n`` training rows is within
the rounding error of computing it (scikit-learn's ``_is_constant_feature``, after Chan, Golub
and LeVeque)::

    var <= n·ε·var + (n·|mean|·ε)²        ε = 2.22e-16, float64's machine epsilon

or when its standard deviation is below ``10·ε`` (scikit-learn's ``_handle_zeros_in_scale``
default, for a near-zero column whose mean is 0). A column of 0.1 with float noise (standard
deviation 1e-17) is constant by this rule; dividing by its noise would turn 0.11 at predict time
into ~1e15.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .onnx import ONNX_DOUBLE, ONNX_FLOAT, Node

EPS = float(np.finfo(np.float64).eps)
_ONNX_TYPES = {np.dtype(np.float32): ONNX_FLOAT, np.dtype(np.float64): ONNX_DOUBLE}


def constant_columns(var: np.ndarray, mean: np.ndarray, n: int) -> np.ndarray:
    """``(d,)`` bool: the columns whose variance is indistinguishable from rounding (see the
    module docstring for the formula)."""
    bound = n * EPS * var + (n * np.abs(mean) * EPS) ** 2
    return (var <= bound) | (np.sqrt(var) < 10 * EPS)


def moments(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(mean, std, constant)`` of each column of ``X`` ``(n, d)``, float64 ``(d,)`` (and
    bool), finite for any finite ``X``. A column near float64's limit (|x| ~ 1e308) overflows
    the sums behind ``mean`` and ``var``; its moments are those of ``x / u``, ``u = max|x|``
    (cells within [-1, 1]), scaled back: ``mean = u·mean(x/u)``, ``std = u·std(x/u)``."""
    with np.errstate(over="ignore", invalid="ignore"):
        mean = X.mean(axis=0, dtype=np.float64)
        var = X.var(axis=0, dtype=np.float64)
        constant = constant_columns(var, mean, X.shape[0])
        std = np.sqrt(var)
    huge = ~(np.isfinite(mean) & np.isfinite(var))
    if huge.any():
        part = np.asarray(X[:, huge], dtype=np.float64)
        unit = np.abs(part).max(axis=0)
        part /= unit
        mean_u, var_u = part.mean(axis=0), part.var(axis=0)
        mean[huge], std[huge] = mean_u * unit, np.sqrt(var_u) * unit
        constant[huge] = constant_columns(var_u, mean_u, X.shape[0])
    return mean, std, constant


@dataclass(frozen=True, eq=False)
class Standardizer:
    """Fitted statistics ``mean`` and ``scale``, each ``(n_columns,)`` float64; ``transform``
    gives ``dtype`` (the network's)."""

    mean: np.ndarray
    scale: np.ndarray
    dtype: np.dtype = np.dtype(np.float64)

    @classmethod
    def fit(cls, X: np.ndarray, dtype: Any) -> Standardizer:
        """From ``X`` ``(n, d)`` (the training rows), in float64."""
        mean, std, constant = moments(np.asarray(X))
        return cls.of(mean, np.where(constant, 1.0, std), dtype)

    @classmethod
    def of(cls, mean: Any, scale: Any, dtype: Any) -> Standardizer:
        """From stored statistics (any float dtype; kept as float64), checked: finite means,
        positive scales."""
        mean, scale = (np.array(v, dtype=np.float64).reshape(-1) for v in (mean, scale))
        if mean.shape != scale.shape:
            raise ValueError("standardization: mean and scale need the same shape")
        if not (np.all(np.isfinite(mean)) and np.all(scale > 0) and np.all(np.isfinite(scale))):
            raise ValueError("standardization: mean must be finite and scale positive")
        return cls(mean, scale, np.dtype(dtype))

    @property
    def width(self) -> int:
        return int(self.mean.shape[0])

    def transform(self, X: np.ndarray) -> np.ndarray:
        """``(X - mean) / scale`` computed in float64, then cast to ``dtype``: a new
        C-contiguous ``(n, d)`` array."""
        centered = np.asarray(X, dtype=np.float64) - self.mean  # a new float64 array
        centered /= self.scale
        if centered.dtype == self.dtype:
            return np.ascontiguousarray(centered)
        with np.errstate(over="ignore"):  # beyond float32: inf, reported by the caller
            return np.ascontiguousarray(centered, dtype=self.dtype)

    def astype(self, dtype: Any) -> Standardizer:
        return Standardizer.of(self.mean, self.scale, dtype)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """``mean`` and ``scale``, float64."""
        return {"mean": self.mean.copy(), "scale": self.scale.copy()}

    def onnx_nodes(self, input_name: str) -> tuple[list[Node], dict[str, np.ndarray], str]:
        """``(nodes, initializers, output)``: ``Sub``/``Div`` on the double input, then
        ``Cast`` to ``dtype`` (omitted for float64) — the arithmetic of ``transform``."""
        nodes = [Node("Sub", [input_name, "mean"], "centered"),
                 Node("Div", ["centered", "scale"], "standardized")]
        output = "standardized"
        if self.dtype != np.float64:
            nodes.append(Node("Cast", [output], "standardized_cast",
                              {"to": _ONNX_TYPES[self.dtype]}))
            output = "standardized_cast"
        return nodes, self.to_arrays(), output
