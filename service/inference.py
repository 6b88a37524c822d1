"""Predictions from a stored model: load once, cache, validate inputs, run the network.

``load_model`` rebuilds the engine's ``Network`` from the model's spec and weights; the engine
applies the standardization (``(X - mean) / scale``) itself inside ``forward`` (worker.nn's
``Network.standardization``), so it is set on the network and applied exactly once.

``predict`` answers API.md's shape. Classification: ``probabilities`` are the output activations,
one column per class in the order of ``classes`` (softmax rows sum to 1; a sigmoid output layer
gives each class its own independent probability, not normalized), and each prediction is the
class of the largest one. Regression: numbers, or a row per input when there are several targets.
``forward`` allocates its buffers per call, so one cached model serves concurrent requests.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np

from service import artifacts, tables
from service.errors import InvalidInput, NotFound, field_error
from worker.nn import Network

_LOC: list[str | int] = ["body", "inputs"]
_NUMBER_TYPES = {int, float}


@dataclass(frozen=True, eq=False)
class LoadedModel:
    id: str
    tenant_id: str
    task: str
    classes: list[Any] | None
    n_features: int
    n_targets: int
    net: Network
    standardization: tuple[np.ndarray, np.ndarray] | None

    @property
    def dtype(self) -> np.dtype:
        return self.net.dtype


def load_model(model: tables.Model) -> LoadedModel:
    """The model ready to predict: its network (weights and standardization set)."""
    params, standardization = artifacts.decode_weights(model.weights)
    dtype = model.spec.get("training", {}).get("dtype") or params[0].dtype.name
    n_outputs = int(params[-1].shape[0])
    net = Network.from_spec(
        model.spec["network"], model.n_features, n_outputs, dtype=dtype, task=model.task
    )
    net.params = params
    net.standardization = standardization
    return LoadedModel(
        id=model.id,
        tenant_id=model.tenant_id,
        task=model.task,
        classes=list(model.classes) if model.classes is not None else None,
        n_features=model.n_features,
        n_targets=model.n_targets,
        net=net,
        standardization=net.standardization,
    )


def validate_inputs(loaded: LoadedModel, inputs: Any) -> np.ndarray:
    """``inputs`` (a list of rows of numbers) as a finite ``(n, n_features)`` array.

    Raises ``InvalidInput`` naming the first bad row/column (rows counted from 0).
    """
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
    if X is None or X.ndim != 2:
        X = _slow_path(loaded, inputs)
    if X.shape[1] != loaded.n_features:
        raise _invalid(
            [*_LOC, 0],
            f"row 0 has {X.shape[1]} values; this model takes {loaded.n_features} features",
        )
    with np.errstate(over="ignore"):  # beyond float32's range: reported as not finite below
        X = X.astype(loaded.dtype, copy=False)
    bad = ~np.isfinite(X)
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        raise _invalid(
            [*_LOC, i, j], f"row {i}, column {j}: {inputs[i][j]!r} is not a finite number"
        )
    return X


def _slow_path(loaded: LoadedModel, inputs: list[Any]) -> np.ndarray:
    """Find and name the first malformed row or cell; or convert when all are numbers."""
    width = loaded.n_features
    for i, row in enumerate(inputs):
        if not isinstance(row, list):
            hint = "; wrap a single row as [[...]]" if i == 0 and not isinstance(row, dict) else ""
            raise _invalid([*_LOC, i], f"row {i} must be a list of numbers{hint}")
        if len(row) != width:
            raise _invalid(
                [*_LOC, i], f"row {i} has {len(row)} values; this model takes {width} features"
            )
        for j, value in enumerate(row):
            if isinstance(value, bool) or not isinstance(value, int | float):
                shown = "null" if value is None else repr(value)[:40]
                raise _invalid([*_LOC, i, j], f"row {i}, column {j}: {shown} is not a number")
    try:
        return np.array(inputs, dtype=np.float64)
    except OverflowError:  # integers beyond float64: reported as not finite
        return np.array([[_as_float(v) for v in row] for row in inputs], dtype=np.float64)


def _as_float(value: int | float) -> float:
    try:
        return float(value)
    except OverflowError:
        return float("inf")


def predict(loaded: LoadedModel, X: np.ndarray) -> tuple[list[Any], list[list[float]] | None]:
    """``(predictions, probabilities | None)`` for validated inputs ``X`` ``(n, n_features)``."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = loaded.net.forward(X)
    finite = np.isfinite(out).all(axis=1)
    if not finite.all():
        row = int(np.flatnonzero(~finite)[0])
        msg = (f"row {row}: the model's outputs overflow ({loaded.dtype}) for these inputs; "
               "they are far outside the range it was trained on")
        raise _invalid(["body", "inputs", row], msg)
    if loaded.task == "classification":
        classes = loaded.classes or []
        indices = out.argmax(axis=1).tolist()
        return [classes[i] for i in indices], out.tolist()
    if out.shape[1] == 1:
        return out[:, 0].tolist(), None
    return out.tolist(), None


class ModelCache:
    """A bounded, thread-safe LRU of loaded models by id (a model's weights never change).

    ``get`` checks ``tenant_id`` (when given) on hits as well as misses, so a cached model never
    answers another tenant. ``size`` 0 disables caching.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._models: OrderedDict[str, LoadedModel] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self,
        model_id: str,
        loader: Callable[[], tables.Model | None],
        *,
        tenant_id: str | None = None,
    ) -> LoadedModel:
        with self._lock:
            loaded = self._models.get(model_id)
            if loaded is not None:
                self._models.move_to_end(model_id)
        if loaded is None:
            # Load outside the lock: a slow database read never blocks other models' hits.
            model = loader()
            if model is None:
                raise NotFound(f"model {model_id} not found")
            loaded = load_model(model)
            with self._lock:
                if self.size > 0:
                    self._models[model_id] = loaded
                    self._models.move_to_end(model_id)
                    while len(self._models) > self.size:
                        self._models.popitem(last=False)
        if tenant_id is not None and loaded.tenant_id != tenant_id:
            raise NotFound(f"model {model_id} not found")
        return loaded

    def discard(self, model_id: str) -> None:
        with self._lock:
            self._models.pop(model_id, None)

    def clear(self) -> None:
        with self._lock:
            self._models.clear()

    def __len__(self) -> int:
        return len(self._models)

    def __contains__(self, model_id: object) -> bool:
        return model_id in self._models


def _invalid(loc: list[str | int], msg: str) -> InvalidInput:
    return InvalidInput(msg, errors=[field_error(loc, msg)])
