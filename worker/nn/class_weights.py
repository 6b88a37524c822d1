"""Class weights: each row's loss weighs ``w_{y_i}``, the batch loss ``Σ w_{y_i} ℓ_i / Σ w_{y_i}``
(PyTorch's weighted mean), for ``cross_entropy`` and ``binary_cross_entropy``.

A row's class ``y_i`` is the column of its largest target (one-hot rows), or ``Y ≥ 0.5`` for a
single output (classes 0 and 1). ``training.class_weight``:

* ``"balanced"``: ``w_c = n / (k · n_c)`` over the training part's ``n`` rows, ``k`` the
  classes present in it and ``n_c`` the rows of class ``c`` (scikit-learn's
  ``compute_class_weight("balanced", classes=np.unique(y), y=y)``); a class absent from the
  training part weighs 1;
* ``{label: weight}``: the named classes weigh so, the others 1. ``labels`` names the classes
  (a key matches ``str(label)``); without, the keys are column indices (``"0"``, ``"1"``, …).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from worker.spec.controls import WEIGHTED_LOSSES

from .errors import SpecError

LOC = ("training", "class_weight")


def row_classes(Y: np.ndarray) -> np.ndarray:
    """Each row's class index ``(n,)`` from targets ``(n, k)``."""
    if Y.shape[1] == 1:
        return (Y[:, 0] >= 0.5).astype(np.int64)
    return np.asarray(Y.argmax(axis=1), dtype=np.int64)


def class_weight_vector(
    spec: str | Mapping[str, float] | None, Y_train: np.ndarray, loss: str,
    labels: Sequence[Any] | None = None,
) -> np.ndarray | None:
    """The weight of each class ``(n_classes,)`` float64, or None without class weights."""
    if spec is None:
        return None
    if loss not in WEIGHTED_LOSSES:
        raise SpecError(LOC, f"class weights apply to {' and '.join(WEIGHTED_LOSSES)}; the "
                             f"loss is {loss}")
    n_classes = max(2, Y_train.shape[1])
    weights = np.ones(n_classes)
    if spec == "balanced":
        counts = np.bincount(row_classes(Y_train), minlength=n_classes)
        present = counts > 0
        weights[present] = Y_train.shape[0] / (present.sum() * counts[present])
        return weights
    names = [str(label) for label in (labels if labels is not None else range(n_classes))]
    assert isinstance(spec, Mapping)
    for key, weight in spec.items():
        if str(key) not in names:
            raise SpecError((*LOC, str(key)), f"no class {key!r}; the classes are "
                                              f"{', '.join(names)}")
        weights[names.index(str(key))] = float(weight)
    return weights


def row_weights(class_weights: np.ndarray | None, Y: np.ndarray, dtype: Any) -> np.ndarray | None:
    """Each row's weight ``(n,)`` in ``dtype``, or None."""
    if class_weights is None:
        return None
    return np.ascontiguousarray(class_weights[row_classes(Y)], dtype=dtype)
