"""Class labels as the network sees them: indices into the sorted classes, and one-hot rows.

A dataset stores labels as int64 indices into its ``classes`` (sorted: numbers numerically,
strings lexicographically); the network's outputs are one column per class in that order, and a
prediction maps the largest output's column back to its label.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .onnx import Node


def one_hot(indices: np.ndarray, n_classes: int) -> np.ndarray:
    """``(n, n_classes)`` float64 rows with a 1 in each row's class column."""
    labels = np.asarray(indices, dtype=np.int64).reshape(-1)
    Y = np.zeros((labels.shape[0], n_classes), dtype=np.float64)
    Y[np.arange(labels.shape[0]), labels] = 1.0
    return Y


def decode(outputs: np.ndarray, classes: Sequence[Any]) -> list[Any]:
    """The label of each row's largest output (``outputs`` ``(n, n_classes)``)."""
    return [classes[i] for i in outputs.argmax(axis=1).tolist()]


def encode(values: Sequence[Any]) -> tuple[np.ndarray, list[Any]]:
    """Class indices (int64) into the sorted distinct labels, and those labels.

    Numbers sort numerically, strings lexicographically; whole floats become ints so that
    ``1.0`` and ``1`` are the same class. Callers never mix numbers and strings.
    """
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu":  # no Python object a row
        classes, y = np.unique(values, return_inverse=True)
        return y.astype(np.int64).reshape(-1), [int(c) for c in classes]
    normalized = [_whole_to_int(v) for v in values]
    classes = sorted(set(normalized))
    index = {label: i for i, label in enumerate(classes)}
    y = np.fromiter(map(index.__getitem__, normalized), dtype=np.int64, count=len(normalized))
    return y, classes


def _whole_to_int(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def label_array(classes: Sequence[Any]) -> np.ndarray:
    """The classes as one array for an ONNX ``label`` output: int64 for whole numbers, float64
    for other numbers, strings (object) otherwise."""
    if all(isinstance(c, int) and not isinstance(c, bool) for c in classes):
        return np.asarray(classes, dtype=np.int64)
    if all(isinstance(c, int | float) and not isinstance(c, bool) for c in classes):
        return np.asarray(classes, dtype=np.float64)
    return np.asarray([str(c) for c in classes], dtype=object)


def label_nodes(outputs: str, classes: Sequence[Any], output: str = "label"
                ) -> tuple[list[Node], dict[str, np.ndarray]]:
    """``decode`` as ONNX nodes: ``ArgMax`` over ``outputs`` ``[N, n_classes]`` (the first
    largest, as NumPy's) → ``Gather`` from the classes → ``output`` ``[N]``."""
    nodes = [Node("ArgMax", [outputs], "label_index", {"axis": 1, "keepdims": 0}),
             Node("Gather", ["classes", "label_index"], output, {"axis": 0})]
    return nodes, {"classes": label_array(classes)}
