"""Regression targets as the network sees them, and a dataset's targets read as another kind.

Scaling. ``TargetScaler`` standardizes each target column, ``(Y - target_mean) /
target_scale``, fitted on the training rows in float64 (constant columns keep scale 1, by the
rule of ``standardize``). The network is trained on the scaled targets, so its loss (``mse``)
is on the scaled values; every prediction undoes it, ``outputs · target_scale + target_mean``,
computed in float64 from the network's outputs (online and batch predict, and the ONNX graph's
``Cast``/``Mul``/``Add`` after the network). Without it, targets around 1e4 ask a network
initialized for outputs near 0 to learn an offset of 1e4 with steps of 1e-3.

Kinds. A dataset stores its targets as ``labels`` (indices into ``classes``) or ``values``; a
job's task may read them as the other kind when they allow it: numeric labels as values (the
class's number), and a single column of whole-number values as labels. ``as_values`` and
``as_labels`` convert, or raise ``ValueError`` saying why they cannot.

Multilabel. A multilabel task reads ``k ≥ 2`` target columns of 0/1 values, one per label
(a label-set upload is stored so: a column per distinct label, 1 where the row's set has it);
``as_multilabel`` checks them and names the labels (the target columns' names).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .labels import encode
from .onnx import ONNX_DOUBLE, Node
from .standardize import moments

# What each task needs of a dataset's targets (the first half of every refusal's message).
TASK_NEEDS = {
    "classification": "classification needs labels (strings, or one column of whole numbers)",
    "regression": "regression needs numeric target values",
    "multilabel": ("multilabel needs 2 or more target columns of 0/1 (one per label), or a "
                   "list of label sets per row"),
}


@dataclass(frozen=True, eq=False)
class TargetScaler:
    """``mean`` and ``scale``, each ``(k,)`` float64, for ``k`` target columns."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, Y: np.ndarray) -> TargetScaler:
        """From the training rows' targets ``Y`` ``(n, k)``."""
        mean, std, constant = moments(np.asarray(Y, dtype=np.float64))
        return cls(mean, np.where(constant, 1.0, std))

    @classmethod
    def from_arrays(cls, arrays: Any) -> TargetScaler | None:
        """From a weights file's ``target_mean``/``target_scale``, or None without them."""
        if "target_mean" not in arrays:
            return None
        mean, scale = (np.array(arrays[k], dtype=np.float64).reshape(-1)
                       for k in ("target_mean", "target_scale"))
        if mean.shape != scale.shape or not (np.isfinite(mean).all() and (scale > 0).all()):
            raise ValueError("target scaling: target_mean must be finite and target_scale "
                             "positive, of one shape")
        return cls(mean, scale)

    def transform(self, Y: np.ndarray) -> np.ndarray:
        """``(Y - mean) / scale``, float64 ``(n, k)``."""
        return (np.asarray(Y, dtype=np.float64) - self.mean) / self.scale

    def inverse(self, outputs: np.ndarray) -> np.ndarray:
        """The network's outputs ``(n, k)`` in target units: ``outputs · scale + mean``
        (float64)."""
        return np.asarray(outputs, dtype=np.float64) * self.scale + self.mean

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"target_mean": self.mean.copy(), "target_scale": self.scale.copy()}

    def onnx_nodes(self, input_name: str, output: str) -> tuple[list[Node], dict[str, Any]]:
        """``Cast`` to double, ``Mul(target_scale)``, ``Add(target_mean)`` into ``output``."""
        nodes = [Node("Cast", [input_name], "outputs_double", {"to": ONNX_DOUBLE}),
                 Node("Mul", ["outputs_double", "target_scale"], "outputs_scaled"),
                 Node("Add", ["outputs_scaled", "target_mean"], output)]
        return nodes, self.to_arrays()


def as_values(y: np.ndarray, classes: Sequence[Any]) -> np.ndarray:
    """Labels (indices ``y`` into ``classes``) as values ``(n, 1)`` float64: each row's class
    as a number. ``ValueError`` when a class is not a number."""
    bad = next((c for c in classes if isinstance(c, bool) or not isinstance(c, int | float)),
               None)
    if bad is not None:
        raise ValueError(f"its labels are not all numbers ({bad!r})")
    return np.asarray(classes, dtype=np.float64)[np.asarray(y, dtype=np.int64)].reshape(-1, 1)


def as_labels(values: np.ndarray) -> tuple[np.ndarray, list[Any]]:
    """Values ``(n, 1)`` (or ``(n,)``) as labels: ``(indices, classes)``, the classes the
    distinct values as ints. ``ValueError`` for several columns or a value with a fraction."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 2 and values.shape[1] != 1:
        raise ValueError(f"it has {values.shape[1]} target columns; labels are one per row")
    column = values.reshape(-1)
    fraction = np.flatnonzero(column != np.round(column))
    if fraction.size:
        row = int(fraction[0])
        shown = float(column[row])
        raise ValueError(f"its values are not all whole numbers (row {row}: {shown!r})")
    if column.size and np.abs(column).max() >= 2**53:
        raise ValueError("its values are too large to be labels (beyond 2^53)")
    return encode(column.astype(np.int64).tolist())


def as_multilabel(values: np.ndarray, names: Sequence[Any] | None) -> tuple[np.ndarray, list[Any]]:
    """Values ``(n, k)`` of 0/1 as multilabel targets: ``(Y, labels)``, ``Y`` float64 ``(n, k)``
    and the labels the columns' ``names`` (else ``"0"``… ``"k-1"``). ``ValueError`` for fewer
    than 2 columns or a value other than 0 and 1."""
    Y = np.asarray(values, dtype=np.float64)
    k = Y.shape[1] if Y.ndim == 2 else 1
    if k < 2:
        raise ValueError("it has 1 target column; multilabel needs one 0/1 column per label "
                         "(for one yes/no label, use task classification)")
    bad = np.argwhere((Y != 0) & (Y != 1))
    if bad.size:
        row, column = (int(v) for v in bad[0])
        raise ValueError(f"its target values are not all 0 or 1 (row {row}, column {column}: "
                         f"{float(Y[row, column])!r})")
    labels = list(names) if names is not None and len(names) == k else [str(j) for j in range(k)]
    return Y, labels
