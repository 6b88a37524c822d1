"""``POST /v1/jobs/gradcheck``: the engine's central-difference check on a sample of the job's data.

It runs inline in the API process, so the sample is small and bounded: ``rows`` training rows
(default 64, at most 256) and ``parameters`` weights plus as many biases per layer (default 10,
at most 50), in float64, on a network of at most `MAX_PARAMETERS` parameters, a dataset of at
most `MAX_CELLS` cells, and at most `MAX_WORK` multiply-adds in all (each checked parameter
costs two forward passes over the sample: ``2 × checked × rows × parameters``). Anything larger
is refused with 422 naming the field and the limit. At most ``DESCENT_GRADCHECK_CONCURRENCY``
checks run at once per API process (`slot`); one more is answered 429 with ``Retry-After``
rather than queued on the request threads, so many concurrent calls cannot hold a decoded
dataset each.

The data go the way a train job's do (``worker.jobs.train``): the task's targets, the split with
the run's ``split`` stream, the pipeline (and regression's target scaling) fitted on the
training rows; then ``rows`` of the training rows are drawn (``numpy.random.default_rng(seed)``)
and only they are transformed. The network is the job's at epoch 0 (``Network.from_spec`` with
the spec's seed); dropout masks for the sample come from the run's ``dropout`` stream and
class weights weigh the rows as in training.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from service import inline_slots, tables
from service.db import Database
from service.errors import InvalidInput, TooManyRequests, field_error
from service.specs.estimate import job_shape
from worker.jobs.base import InvalidJob
from worker.jobs.train import fill_preprocessing, training_arrays
from worker.nn import Network, RandomStreams, fill_training_defaults, layer_gradcheck
from worker.nn.class_weights import class_weight_vector, row_weights
from worker.nn.dropout import draw_masks, dropout_rates
from worker.pipeline import Pipeline, TargetScaler, split_rows

DEFAULT_ROWS, MAX_ROWS = 64, 256
DEFAULT_PER_LAYER, MAX_PER_LAYER = 10, 50
MAX_PARAMETERS = 1_000_000  # the network's weights and biases
MAX_CELLS = 20_000_000  # the dataset's rows × raw columns (it is decoded whole)
MAX_WORK = 2_000_000_000  # 2 × checked × rows × parameters multiply-adds (~1-2 s)
TOLERANCE = 1e-6
EPSILON = 1e-6
RETRY_AFTER_SECONDS = 2


@contextmanager
def slot(state: Any, limit: int) -> Iterator[None]:
    """Hold one of the API process's ``limit`` gradient-check slots (``service.inline_slots``),
    or raise ``TooManyRequests`` (429) at once when all are taken."""
    with inline_slots.held(state, "gradcheck", limit) as got:
        if not got:
            raise TooManyRequests(
                f"{limit} gradient checks are running in this API process (the limit, "
                "DESCENT_GRADCHECK_CONCURRENCY); try again shortly",
                retry_after=RETRY_AFTER_SECONDS)
        yield


def check_limits(spec: dict[str, Any], dataset: Any, rows: int, per_layer: int) -> None:
    """Raise ``InvalidInput`` (422) when the check would be too large to run inline."""
    shape = job_shape(spec, dataset)
    errors = []
    if shape.parameters > MAX_PARAMETERS:
        errors.append(field_error(["body", "network", "hidden_layers"], (
            f"the network has {shape.parameters:,} parameters; a gradient check runs inline "
            f"and is limited to {MAX_PARAMETERS:,}: use fewer or smaller hidden layers")))
    cells = dataset.n_rows * max(1, dataset.n_features)
    if cells > MAX_CELLS:
        errors.append(field_error(["body", "dataset_id"], (
            f"dataset {dataset.id} has {cells:,} cells (rows × columns); a gradient check "
            f"reads at most {MAX_CELLS:,}: check on a smaller dataset")))
    sample = min(rows, shape.train_rows)
    checked = sum(min(per_layer, a * b) + min(per_layer, b)
                  for a, b in zip(shape.sizes[:-1], shape.sizes[1:], strict=True))
    work = 2 * checked * sample * shape.parameters
    if not errors and work > MAX_WORK:
        errors.append(field_error(["query", "rows"], (
            f"the check would take {work:,} multiply-adds (2 × {checked} checked parameters × "
            f"{sample} rows × {shape.parameters:,} parameters); the limit is {MAX_WORK:,}: "
            "use fewer rows or parameters")))
    if errors:
        raise InvalidInput("; ".join(e["msg"] for e in errors), errors=errors)


def gradcheck_job(spec: dict[str, Any], dataset: tables.Dataset, *, rows: int = DEFAULT_ROWS,
                  per_layer: int = DEFAULT_PER_LAYER, db: Database | None = None
                  ) -> dict[str, Any]:
    """The per-layer report of a resolved ``spec`` on ``dataset`` (call `check_limits` first)."""
    task = spec["task"]
    try:
        X, Y, n_outputs, classes = training_arrays(dataset, task, db)
    except InvalidJob as exc:
        raise InvalidInput(str(exc), errors=[field_error(["body", "task"], str(exc))]) from None
    config = fill_training_defaults(spec["training"])
    streams = RandomStreams(config["seed"])
    train_rows, _ = split_rows(X.n_rows, config["validation_split"], streams.generator("split"))
    if train_rows is not None:
        X, Y = X.take(train_rows), Y[train_rows]
    pipeline = Pipeline.fit(X, standardize=config["standardize"], dtype=np.float64,
                            preprocessing=fill_preprocessing(spec.get("preprocessing")))
    scaler = (TargetScaler.fit(Y) if task == "regression"
              and config.get("standardize_targets", True) else None)
    net = Network.from_spec(spec["network"], pipeline.width, n_outputs, seed=config["seed"],
                            dtype="float64", task=task)
    weights = class_weight_vector(config.get("class_weight"), Y, net.loss_name, classes)
    rng = np.random.default_rng(config["seed"])
    picked = np.sort(rng.choice(X.n_rows, size=min(rows, X.n_rows), replace=False))
    Xs, Ys = pipeline.transform(X.take(picked)), Y[picked]
    Ys = scaler.transform(Ys) if scaler is not None else Ys
    rates = dropout_rates(net.spec["hidden_layers"])
    masks = None
    if any(p > 0 for p in rates):
        masks = [np.empty((len(picked), units)) if p > 0 else None
                 for p, units in zip(rates, net.sizes[1:-1], strict=True)]
        draw_masks(streams.generator("dropout"), rates, masks)
    with np.errstate(all="ignore"):
        layers = layer_gradcheck(net, Xs, Ys, rng, per_layer=per_layer, eps=EPSILON,
                                 masks=masks, sample_weight=row_weights(weights, Ys, np.float64))
    for entry, (fan_in, fan_out), activation in zip(
            layers, zip(net.sizes[:-1], net.sizes[1:], strict=True), net.activations,
            strict=True):
        error = entry["max_relative_error"]
        finite = bool(np.isfinite(error))  # NaN/inf (an overflowing loss) fails, as null
        entry.update(shape=[fan_in, fan_out], activation=activation,
                     max_relative_error=error if finite else None,
                     passed=finite and error <= TOLERANCE)
    return {
        "passed": all(entry["passed"] for entry in layers),
        "rows": len(picked), "parameters_per_layer": per_layer, "dtype": "float64",
        "epsilon": EPSILON, "tolerance": TOLERANCE, "loss": net.loss_name,
        "seed": config["seed"], "layers": layers,
    }
