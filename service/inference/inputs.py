"""A predict request's ``inputs`` as the array the model's pipeline takes.

``validate_inputs`` raises ``InvalidInput`` naming the first bad row/column (rows counted from
0, locations under ``["body", "inputs"]``). The fast path converts with NumPy alone when the body
is only numbers (`numbers_only`: one C-speed pass over its bytes, not one over a million Python
objects), else after checking every cell's type in one C-speed pass; only a malformed body is
walked cell by cell. ``check_matrix`` applies the same checks to an array from a binary body.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

import numpy as np

from service.errors import InvalidInput, field_error

_LOC: list[str | int] = ["body", "inputs"]
_NUMBER_TYPES = {int, float}
# What a JSON body of rows of numbers is made of besides its keys: numbers, brackets, commas,
# white space. Deleted from a body, they leave one of these skeletons and nothing else.
_NUMBER_BYTES = b"0123456789.-+eE[], \t\r\n"
_SKELETONS = {
    document.translate(None, _NUMBER_BYTES)
    for document in (b'{"inputs":[]}', b'{"inputs":[],"store":false}',
                     b'{"inputs":[],"store":true}', b'{"store":false,"inputs":[]}',
                     b'{"store":true,"inputs":[]}')
}


def numbers_only(body: bytes) -> bool:
    """True when the JSON ``body`` is ``{"inputs": …}`` (and maybe ``store``) whose inputs hold
    nothing but numbers and lists: no strings, booleans or nulls, which NumPy would otherwise
    take as numbers ("1", true) or objects."""
    return body.translate(None, _NUMBER_BYTES) in _SKELETONS


def validate_inputs(loaded: Any, inputs: Any, *, plain: bool = False) -> np.ndarray:
    """``inputs`` (a list of rows of numbers) as a ``(n, n_features)`` float64 array
    (``loaded`` is a ``LoadedModel``), finite but for ``null`` cells (NaN: missing, for a model
    that imputes). ``plain``: the body passed `numbers_only`."""
    if not isinstance(inputs, list) or not inputs:
        raise _invalid(_LOC, "inputs must be a non-empty list of rows (one list of numbers each)")
    X = None
    width = loaded.n_features
    if plain and all(type(row) is list for row in inputs) and set(map(len, inputs)) == {width}:
        # Rows of numbers, all as wide as the model: straight into one float64 buffer.
        try:
            X = np.fromiter(chain.from_iterable(inputs), np.float64, len(inputs) * width)
            X = X.reshape(len(inputs), width)
        except (ValueError, TypeError, OverflowError):  # [[[1]]]; beyond float64: by cell
            X = None
    if X is None and all(type(row) is list for row in inputs):
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
    bad = _not_finite(loaded, X)
    if bad is not None:
        for i, j in np.argwhere(bad).tolist():
            if not (nulls and inputs[i][j] is None):
                raise _invalid(
                    [*_LOC, i, j], f"row {i}, column {j}: {inputs[i][j]!r} is not a finite number"
                )
    return X


def check_matrix(loaded: Any, X: np.ndarray, loc: list[str | int]) -> np.ndarray:
    """A binary body's array ``(n, d)`` checked as JSON rows are: a model of numeric columns
    only, ``n_features`` columns, at least one row, finite in the model's dtype (NaN = a
    missing cell, for a model that imputes). Returned as it is (the pipeline converts once)."""
    categorical = [name for name, kind in loaded.columns or [] if kind != "numeric"]
    if categorical:  # the pipeline would take the array for a table of its columns: a 500
        raise _invalid(loc, f"this model takes categorical columns "
                            f"({', '.join(repr(n) for n in categorical[:20])}), which an array "
                            "of numbers cannot hold: send an Arrow stream or JSON records")
    if X.shape[0] == 0:
        raise _invalid(loc, "the array has no rows")
    if X.shape[1] != loaded.n_features:
        raise _invalid(loc, f"the array has {X.shape[1]} columns; this model takes "
                            f"{loaded.n_features} features")
    bad = _not_finite(loaded, X)
    if bad is not None:
        if loaded.columns is not None:
            bad &= ~np.isnan(X)
        if bad.any():
            i, j = (int(v) for v in np.argwhere(bad)[0])
            raise _invalid([*loc, i, j], f"row {i}, column {j}: {X[i, j]!r} is not a finite "
                                         f"number in {loaded.dtype}")
    return X


def _not_finite(loaded: Any, X: np.ndarray) -> np.ndarray | None:
    """Where ``X`` is NaN, ±inf, or beyond the model's dtype (None: nowhere)."""
    if X.dtype.kind != "f":  # integers: finite, and within float32 (below 3.4e38)
        return None
    finite = np.isfinite(X)
    if loaded.dtype != np.float64 and X.dtype.itemsize > np.dtype(loaded.dtype).itemsize:
        with np.errstate(over="ignore"):
            finite &= np.isfinite(X.astype(loaded.dtype))
    return None if finite.all() else ~finite


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
