"""JSON on the predict path: orjson (a 1,000-row body parses ~7× and its answer serializes ~8×
faster than with the standard library), falling back to ``json`` for what orjson refuses.

``loads`` falls back for ``NaN``/``Infinity`` tokens (which Python's ``json.dumps`` writes, and
which must reach validation to be answered 422 naming the cell) and integers beyond 64 bits.
``dumps`` writes the same numbers as ``json.dumps`` (the shortest repr that round-trips; only
exponents are spelled differently, ``1e-5`` for ``1e-05``) and falls back for integers beyond
64 bits. It takes float64 NumPy arrays as lists, written straight from the array (4× faster
than ``tolist`` and then writing a list of floats).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import orjson


def loads(body: bytes) -> Any:
    """The document in ``body``; ``ValueError`` when it is not JSON at all."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(body)
    except RecursionError:  # orjson stops at 1,024 levels; the standard library recurses
        raise ValueError("the JSON document is nested too deeply") from None


def dumps(document: Any) -> bytes:
    try:
        return orjson.dumps(document, option=orjson.OPT_SERIALIZE_NUMPY)
    except TypeError:
        return json.dumps(document, separators=(",", ":"), default=_as_list).encode()


def _as_list(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
