"""A stored model ready to predict: its fitted pipeline and network, loaded once and cached.

``load_model`` rebuilds the engine's ``Network`` from the model's spec and weights, the
``Pipeline`` from the weights file's fitted state (``mean``/``scale``, the column steps'
``pre_*``) and the target scaling (``target_mean``/``target_scale``, regression); ``outputs``
applies the pipeline, the network and the scaling back to target units, exactly once each, in
chunks of rows whose hidden activations stay within a fixed budget
(``Network.logits_and_outputs``), so a request's memory does not grow with its row count.
Inputs stay float64 until the pipeline has centered them.

``predict`` answers as docs/api.md says. Classification: ``probabilities`` are the outputs,
one column per class in the order of ``classes`` (softmax rows sum to 1; a sigmoid output layer
gives each class its own independent probability, not normalized), and each prediction is the
class of the largest one. Regression: numbers, or a row per input when there are several targets.
Multilabel: each prediction is the row's label set (the labels with sigmoid output ``> 0.5``,
in the model's label order) and ``probabilities`` is ``{label: p}`` per row.
``forward`` allocates its buffers per call, so one cached model serves concurrent requests.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from service import artifacts, tables
from service.errors import InvalidInput, NotFound, field_error
from worker.nn import Network
from worker.pipeline import Pipeline, Table, TargetScaler, UnknownCategory, decode


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A model in memory. ``pipeline`` turns raw rows into the network's inputs; built from
    ``standardization`` when not given."""

    id: str
    tenant_id: str
    task: str
    classes: list[Any] | None
    n_features: int
    n_targets: int
    net: Network
    standardization: tuple[np.ndarray, np.ndarray] | None = None
    pipeline: Pipeline | None = None
    targets: TargetScaler | None = None  # regression targets' scaling, undone on outputs

    def __post_init__(self) -> None:
        if self.pipeline is None:
            arrays = {} if self.standardization is None else dict(
                zip(("mean", "scale"), self.standardization, strict=True))
            pipeline = Pipeline.from_arrays(arrays, n_features=self.n_features,
                                            dtype=self.net.dtype)
            object.__setattr__(self, "pipeline", pipeline)

    @property
    def dtype(self) -> np.dtype:
        return self.net.dtype

    @property
    def steps(self) -> Pipeline:
        assert self.pipeline is not None
        return self.pipeline

    @property
    def columns(self) -> list[tuple[str, str]] | None:
        """``(name, kind)`` of each raw column; None for a model that takes numbers by
        position only (trained before columns had kinds)."""
        return self.steps.columns


def load_model(model: tables.Model) -> LoadedModel:
    """The model ready to predict: its network (weights set) and its fitted pipeline."""
    params, fitted = artifacts.decode_weights_file(model.weights)
    dtype = model.spec.get("training", {}).get("dtype") or params[0].dtype.name
    n_inputs, n_outputs = int(params[0].shape[0]), int(params[-1].shape[0])
    # The stored spec is complete; no initial weights are drawn, the trained ones are set.
    net = Network(model.spec["network"], n_inputs, n_outputs, dtype)
    net.params = params
    return LoadedModel(
        id=model.id, tenant_id=model.tenant_id, task=model.task,
        classes=list(model.classes) if model.classes is not None else None,
        n_features=model.n_features, n_targets=model.n_targets, net=net,
        standardization=(fitted["mean"], fitted["scale"]) if "mean" in fitted else None,
        pipeline=Pipeline.from_arrays(fitted, n_features=model.n_features, dtype=net.dtype),
        targets=TargetScaler.from_arrays(fitted),
    )


class PredictionError(ValueError):
    """Inputs the model cannot answer for (its outputs overflow, a missing cell it cannot fill,
    an unknown category it refuses); ``row`` counts from 0, ``column`` names one when known."""

    def __init__(self, row: int, message: str, *, column: str | int | None = None) -> None:
        self.row, self.column = row, column
        super().__init__(message)


def _refuse_missing(X: np.ndarray | Table) -> None:
    """A model trained before imputation existed cannot fill a missing cell: name the first."""
    values = X.matrix() if isinstance(X, Table) else np.asarray(X)
    missing = np.isnan(values)
    if missing.any():
        row, column = (int(v) for v in np.argwhere(missing)[0])
        raise PredictionError(row, f"row {row}, column {column}: the cell is missing, and this "
                                   "model (trained before imputation) cannot fill it",
                              column=column)


def outputs(loaded: LoadedModel, X: np.ndarray | Table) -> np.ndarray:
    """The model's outputs ``(n, n_outputs)`` for raw rows — ``X`` ``(n, n_features)`` numbers
    (NaN = missing) or a ``Table`` of the model's columns (``conform``): the network's, in
    target units (float64) when the model scaled its targets."""
    if loaded.columns is None:
        _refuse_missing(X)
    try:
        inputs = loaded.steps.transform(X)
    except UnknownCategory as exc:
        raise PredictionError(exc.row, str(exc), column=exc.column) from None
    with np.errstate(over="ignore", invalid="ignore"):
        out = loaded.net.logits_and_outputs(inputs)[1]
    finite = np.isfinite(out).all(axis=1)
    if not finite.all():
        row = int(np.flatnonzero(~finite)[0])
        raise PredictionError(row, (
            f"row {row}: the model's outputs overflow ({loaded.dtype}) for these inputs; they "
            "are far outside the range it was trained on"))
    return out if loaded.targets is None else loaded.targets.inverse(out)


def to_answers(loaded: LoadedModel, out: np.ndarray) -> tuple[list[Any], list[Any] | None]:
    """``(predictions, probabilities | None)`` from the network's outputs (docs/api.md)."""
    if loaded.task == "classification":
        return decode(out, loaded.classes or []), out.tolist()
    if loaded.task == "multilabel":
        return label_sets(out, loaded.classes or [])
    if out.shape[1] == 1:
        return out[:, 0].tolist(), None
    return out.tolist(), None


def json_answers(loaded: LoadedModel, out: np.ndarray) -> tuple[Any, Any]:
    """``to_answers`` for a JSON answer: numbers stay float64 arrays (``fastjson.dumps`` writes
    them as lists, the same text, without a Python float per value)."""
    if loaded.task == "classification":
        return decode(out, loaded.classes or []), np.ascontiguousarray(out, np.float64)
    if loaded.task == "multilabel":
        return label_sets(out, loaded.classes or [])
    values = np.ascontiguousarray(out[:, 0] if out.shape[1] == 1 else out, np.float64)
    return values, None


def label_sets(out: np.ndarray, labels: list[Any]) -> tuple[list[Any], list[Any]]:
    """Multilabel answers from sigmoid outputs ``(n, k)``: each row's labels with ``p > 0.5``
    (in the model's label order) and ``{label: p}`` for every label."""
    chosen = out > 0.5  # "above 0.5" (issue 12), as evaluation and Hamming accuracy count
    sets = [[labels[j] for j in np.flatnonzero(row).tolist()] for row in chosen]
    return sets, [dict(zip(labels, row, strict=True)) for row in out.tolist()]


def predict(loaded: LoadedModel, X: np.ndarray | Table) -> tuple[list[Any], list[Any] | None]:
    """``(predictions, probabilities | None)`` for validated inputs ``X`` ``(n, n_features)``;
    ``InvalidInput`` at ``["body", "inputs", row]`` when a row's outputs overflow."""
    try:
        return to_answers(loaded, outputs(loaded, X))
    except PredictionError as exc:
        loc: list[str | int] = ["body", "inputs", exc.row]
        loc += [] if exc.column is None else [exc.column]
        raise InvalidInput(str(exc), errors=[field_error(loc, str(exc))]) from None


def check_workload(loaded: LoadedModel, n_rows: int, *, max_rows: int,
                   max_activations: int) -> None:
    """Refuse (422) a request whose rows, or rows × the widest layer (the activations it must
    hold at once without chunking), are over the service's limits."""
    widest = max(loaded.net.sizes)
    if n_rows > max_rows:
        msg = (f"{n_rows:,} rows is over the limit of {max_rows:,} per request "
               "(DESCENT_MAX_PREDICT_ROWS): send fewer rows per request, or upload them as a "
               "dataset and use batch predictions")
        raise InvalidInput(msg, errors=[field_error(["body", "inputs"], msg)])
    if n_rows * widest > max_activations:
        msg = (f"{n_rows:,} rows × the model's widest layer ({widest:,} units) is over the "
               f"limit of {max_activations:,} activations per request "
               f"(DESCENT_MAX_PREDICT_ACTIVATIONS): send at most "
               f"{max(1, max_activations // widest):,} rows per request, or use batch "
               "predictions")
        raise InvalidInput(msg, errors=[field_error(["body", "inputs"], msg)])


def load_cached(cache: ModelCache, db: Any, *, tenant_id: str, model_id: str) -> LoadedModel:
    """The tenant's model from ``cache``, read from the database (weights and all) on a miss;
    ``NotFound`` for another tenant's or a missing one. Predict and the ONNX export share it,
    so the file is built from exactly the network that answers ``/predict``."""
    from service.repository.models import find_model

    def load() -> tables.Model | None:
        return find_model(db, tenant_id=tenant_id, model_id=model_id, with_weights=True)

    return cache.get(model_id, load, tenant_id=tenant_id)


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
