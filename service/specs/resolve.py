"""Filling a submitted spec's defaults and checking it against the dataset and the limits.

The spec's own rules (fields, bounds, the output/loss pairing) are ``worker.spec``'s; this module
adds only what needs the data (the dataset's targets and row count) or the service's settings.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from service import tables
from service.errors import InvalidInput, field_error
from service.settings import Settings
from service.specs import finetune
from service.specs.controls import control_errors
from service.specs.models import JobSubmit
from service.specs.targets import default_task, trained_as
from worker.pipeline.preprocess import encoded_width
from worker.spec import SpecError, network_and_errors, parameter_count
from worker.spec.weights import layer_shape_errors


def output_units(dataset: Any) -> int:
    """Output layer width: one unit per class (labels) or per target column (values)."""
    if dataset.target_kind == "labels":
        return len(dataset.classes or [])
    return dataset.n_targets


def count_parameters(spec: dict[str, Any], n_features: int, n_outputs: int) -> int:
    """Weights and biases of the dense stack ``n_features → hidden… → n_outputs``."""
    hidden = [layer["units"] for layer in spec["network"]["hidden_layers"]]
    return parameter_count([n_features, *hidden, n_outputs])


def input_width(spec: dict[str, Any], dataset: Any) -> int:
    """The network's input width on ``dataset`` under the spec's ``preprocessing`` (an upper
    bound: one-hot columns per category, indicators per column with missing cells)."""
    schema = dataset.columns or [{"kind": "numeric", "missing": 0}] * dataset.n_features
    return encoded_width(schema, spec.get("preprocessing"))


def validation_rows(n_rows: int, split: float | None) -> int:
    """Rows held out for validation: ``floor(n_rows × validation_split)``."""
    return math.floor(n_rows * split) if split else 0


def resolve_spec(
    submit: JobSubmit, dataset: tables.Dataset, *, settings: Settings,
    targets: np.ndarray | None = None, parent: tables.Model | None = None,
) -> dict[str, Any]:
    """The full spec with defaults filled in, checked against ``dataset`` and ``settings``.

    The task defaults to the dataset's (``multilabel`` for label sets), else to its kind of
    targets; a task given reads them as its own kind
    when they allow it (``service.specs.targets``; ``targets``, the stored ``y``, is needed to
    read values as labels). ``parent``, the model of ``training.init_from_model``, fixes the
    task, network and preprocessing (``service.specs.finetune``)."""
    if parent is None and submit.training.init_from_model is not None:
        raise _invalid(["training", "init_from_model"],
                       "training.init_from_model: fine-tuning is not available here "
                       "(sweeps' trials start from scratch); submit it with POST /v1/jobs")
    task = _task(submit.task or (parent.task if parent is not None else None), dataset)
    view = trained_as(dataset, task, targets)
    network, errors = _network(submit, task)
    training = submit.training.model_dump(mode="json")
    errors += _validation(training, submit.training.model_fields_set, dataset)
    if training["epochs"] > settings.max_epochs:
        errors.append(_error(["training", "epochs"], f"epochs is {training['epochs']:,}; the "
                                                     f"limit is {settings.max_epochs:,}"))
    spec: dict[str, Any] = {
        "dataset_id": submit.dataset_id,
        "task": task,
        "network": network,
        "training": training,
        "preprocessing": submit.preprocessing.model_dump(mode="json"),
        "max_attempts": submit.max_attempts,
        "priority": submit.priority,
    }
    if parent is not None:
        errors += finetune.inherit(spec, submit, dataset, parent)
        network = spec["network"]
    errors += _shape(network, settings)
    errors += control_errors(training, network, task, view.classes)
    width = input_width(spec, dataset)
    if width > settings.max_encoded_width:
        errors.append(_error(["preprocessing"], (
            f"dataset {dataset.id} encodes to {width:,} input columns (one per category of each "
            f"categorical column); the limit is {settings.max_encoded_width:,} "
            "(DESCENT_MAX_ENCODED_WIDTH): set preprocessing.max_categories")))
    parameters = count_parameters(spec, width, output_units(view))
    errors += _weights(spec, dataset, width, output_units(view))
    if parameters > settings.max_parameters:
        errors.append(_error(["network", "hidden_layers"], (
            f"the network has {parameters:,} parameters; the limit is"
            f" {settings.max_parameters:,}: use fewer or smaller hidden layers")))
    if errors:
        raise InvalidInput("; ".join(e["msg"] for e in errors), errors=errors)
    return spec


def _network(submit: Any, task: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The filled network and its pairing errors (all of them, each at its field)."""
    try:
        network, problems = network_and_errors(submit.network.model_dump(mode="json"), task)
    except SpecError as exc:  # a field pydantic cannot check alone (initial_weights' values)
        raise _invalid(list(exc.loc), exc.msg) from None
    return network, [_error(list(p.loc), p.msg) for p in problems]


def _weights(spec: dict[str, Any], dataset: Any, width: int,
             n_outputs: int) -> list[dict[str, Any]]:
    """``network.initial_weights`` shaped for ``width`` inputs and ``n_outputs`` outputs.

    ``width`` is exact when the pipeline is fitted on every row (no validation split) or the
    columns are all numeric and complete; otherwise the training rows may encode narrower, so
    the first layer's ``fan_in`` is left to the engine (the job fails naming the field)."""
    network = spec["network"]
    weights = network.get("initial_weights")
    if weights is None:
        return []
    columns = dataset.columns or []
    exact = not spec["training"]["validation_split"] or all(
        c.get("kind", "numeric") == "numeric" and not c.get("missing") for c in columns)
    if not exact:
        width = len(weights[0]["W"])
    sizes = [width, *(layer["units"] for layer in network["hidden_layers"]), n_outputs]
    return [_error(list(e.loc), e.msg) for e in layer_shape_errors(weights, sizes)]


def _shape(network: dict[str, Any], settings: Settings) -> list[dict[str, Any]]:
    """Depth and width within the service's limits (a network's cost per row)."""
    layers = network["hidden_layers"]
    if len(layers) > settings.max_hidden_layers:
        return [_error(["network", "hidden_layers"], (
            f"the network has {len(layers):,} hidden layers; the limit is "
            f"{settings.max_hidden_layers:,} (DESCENT_MAX_HIDDEN_LAYERS)"))]
    return [_error(["network", "hidden_layers", i, "units"], (
        f"{layer['units']:,} units; the limit is {settings.max_layer_units:,} per layer "
        "(DESCENT_MAX_LAYER_UNITS)")) for i, layer in enumerate(layers)
        if layer["units"] > settings.max_layer_units][:1]


def _validation(
    training: dict[str, Any], given: set[str], dataset: tables.Dataset
) -> list[dict[str, Any]]:
    """Switch a default validation split that holds out no row off (with the default early
    stopping, which watches it); refuse either when the user asked for it explicitly."""
    errors = []
    split = training["validation_split"]
    if split and validation_rows(dataset.n_rows, split) < 1:
        if "validation_split" in given:
            errors.append(_error(["training", "validation_split"], (
                f"validation_split {split} of {dataset.n_rows} rows holds out no row; use a "
                "larger split, more rows, or null")))
        training["validation_split"] = None
    if not training["validation_split"] and training["early_stopping"] is not None:
        if "early_stopping" in given:
            errors.append(_error(["training", "early_stopping"], (
                "early_stopping watches the validation loss: set validation_split (e.g. 0.1)"
                " or set early_stopping to null")))
        training["early_stopping"] = None
    return errors


def _task(task: str | None, dataset: tables.Dataset) -> str:
    if dataset.target_kind is None or dataset.n_targets == 0:
        raise _invalid(["dataset_id"], f"dataset {dataset.id} has no targets; it can only be "
                                       "used for batch predictions")
    return task or default_task(dataset)


def _error(loc: list[str | int], msg: str) -> dict[str, Any]:
    return field_error(["body", *loc], msg)


def _invalid(loc: list[str | int], msg: str) -> InvalidInput:
    return InvalidInput(msg, errors=[_error(loc, msg)])
