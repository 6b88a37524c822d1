"""A predict request's ``inputs`` as the array the model's pipeline takes.

``validate_inputs`` raises ``InvalidInput`` naming the first bad row/column (rows counted from
0, locations under ``["body", "inputs"]``). The fast path checks every cell's type in one
C-speed pass and converts with NumPy; only a malformed body is walked cell by cell.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

import numpy as np

from service.errors import InvalidInput, field_error

_LOC: list[str | int] = ["body", "inputs"]
_NUMBER_TYPES = {int, float}


def validate_inputs(loaded: Any, inputs: Any) -> np.ndarray:
    """``inputs`` (a list of rows of numbers) as a ``(n, n_features)`` float64 array
    (``loaded`` is a ``LoadedModel``), finite but for ``null`` cells (NaN: missing, for a model
    that imputes)."""
    if not isinstance(inputs, list) or not inputs:
        raise _invalid(_LOC, "inputs must be a non-empty list of rows (one list of numbers each)")
    X = None
    if all(type(row) is list for row in inputs):
        # One C-speed pass over the cells' types: numpy alone would take "1" and True as numbers.
        if set(map(type, chain.from_iterable(inputs))) <= _NUMBER_TYPES:
            try:
                X = np.array(inputs, dtype=np.float64)
            except (ValueError, OverflowError):
                X = None
    nulls = loaded.columns is not None
    if X is None or X.ndim != 2:
        X = _slow_path(loaded.n_features, inputs, nulls)
    if X.shape[1] != loaded.n_features:
        raise _invalid(
            [*_LOC, 0],
            f"row 0 has {X.shape[1]} values; this model takes {loaded.n_features} features",
        )
    # Kept in float64: the pipeline centers before casting to the model's dtype (a float32
    # cast first would round 1.7e9 to steps of 128). Cells beyond the dtype's range are refused.
    bad = ~np.isfinite(X)
    if loaded.dtype != np.float64:
        with np.errstate(over="ignore"):
            bad |= ~np.isfinite(X.astype(loaded.dtype))
    if bad.any():
        for i, j in np.argwhere(bad).tolist():
            if not (nulls and inputs[i][j] is None):
                raise _invalid(
                    [*_LOC, i, j], f"row {i}, column {j}: {inputs[i][j]!r} is not a finite number"
                )
    return X


def _slow_path(width: int, inputs: list[Any], nulls: bool = False) -> np.ndarray:
    """Find and name the first malformed row or cell; or convert when all are numbers."""
    for i, row in enumerate(inputs):
        if not isinstance(row, list):
            hint = "; wrap a single row as [[...]]" if i == 0 and not isinstance(row, dict) else ""
            raise _invalid([*_LOC, i], f"row {i} must be a list of numbers{hint}")
        if len(row) != width:
            raise _invalid(
                [*_LOC, i], f"row {i} has {len(row)} values; this model takes {width} features"
            )
        for j, value in enumerate(row):
            if value is None and nulls:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                shown = "null" if value is None else repr(value)[:40]
                raise _invalid([*_LOC, i, j], f"row {i}, column {j}: {shown} is not a number")
    try:
        return np.array(inputs, dtype=np.float64)
    except OverflowError:  # integers beyond float64: reported as not finite
        return np.array([[_as_float(v) for v in row] for row in inputs], dtype=np.float64)


def _as_float(value: int | float | None) -> float:
    if value is None:
        return float("nan")
    try:
        return float(value)
    except OverflowError:
        return float("inf")


def _invalid(loc: list[str | int], msg: str) -> InvalidInput:
    return InvalidInput(msg, errors=[field_error(loc, msg)])
