"""Filling a submitted spec's defaults and checking it against the dataset and the limits."""

from __future__ import annotations

import math
import re
from typing import Any

from service import tables
from service.errors import InvalidInput, field_error
from service.settings import Settings
from service.specs.models import (
    REQUIRED_ACTIVATION,
    TASK_DEFAULTS,
    JobSubmit,
    NetworkSpec,
)


def output_units(dataset: tables.Dataset) -> int:
    """Output layer width: one unit per class (labels) or per target column (values)."""
    if dataset.target_kind == "labels":
        return len(dataset.classes or [])
    return dataset.n_targets


def count_parameters(spec: dict[str, Any], n_features: int, n_outputs: int) -> int:
    """Weights and biases of the dense stack ``n_features → hidden… → n_outputs``."""
    sizes = [n_features, *(layer["units"] for layer in spec["network"]["hidden_layers"]), n_outputs]
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=False))


def validation_rows(n_rows: int, split: float | None) -> int:
    """Rows held out for validation: ``floor(n_rows × validation_split)``."""
    return math.floor(n_rows * split) if split else 0


def resolve_spec(
    submit: JobSubmit, dataset: tables.Dataset, *, settings: Settings
) -> dict[str, Any]:
    """The full spec with defaults filled in, checked against ``dataset`` and ``settings``."""
    task = _task(submit.task, dataset)
    output, loss, errors = _output_and_loss(submit.network, task)
    training = submit.training.model_dump(mode="json")
    training_set = submit.training.model_fields_set
    validation = validation_rows(dataset.n_rows, training["validation_split"])
    if training["validation_split"] and validation < 1:
        if "validation_split" in training_set:
            errors.append(
                _error(
                    ["training", "validation_split"],
                    f"validation_split {training['validation_split']} of {dataset.n_rows} rows"
                    " holds out no row; use a larger split, more rows, or null",
                )
            )
        training["validation_split"] = None
    if not training["validation_split"] and training["early_stopping"] is not None:
        if "early_stopping" in training_set:
            errors.append(
                _error(
                    ["training", "early_stopping"],
                    "early_stopping watches the validation loss: set validation_split (e.g. 0.1)"
                    " or set early_stopping to null",
                )
            )
        training["early_stopping"] = None
    if training["epochs"] > settings.max_epochs:
        errors.append(
            _error(
                ["training", "epochs"],
                f"epochs is {training['epochs']:,}; the limit is {settings.max_epochs:,}",
            )
        )
    spec: dict[str, Any] = {
        "dataset_id": submit.dataset_id,
        "task": task,
        "network": {
            "hidden_layers": [layer.model_dump() for layer in submit.network.hidden_layers],
            "output_activation": output,
            "loss": loss,
            "init": submit.network.init,
        },
        "training": training,
        "max_attempts": submit.max_attempts,
        "priority": submit.priority,
    }
    parameters = count_parameters(spec, dataset.n_features, output_units(dataset))
    if parameters > settings.max_parameters:
        errors.append(
            _error(
                ["network", "hidden_layers"],
                f"the network has {parameters:,} parameters; the limit is"
                f" {settings.max_parameters:,}: use fewer or smaller hidden layers",
            )
        )
    if errors:
        raise InvalidInput("; ".join(e["msg"] for e in errors), errors=errors)
    _check_with_engine(spec)
    return spec


def _task(task: str | None, dataset: tables.Dataset) -> str:
    if dataset.target_kind is None or dataset.n_targets == 0:
        raise _invalid(
            ["dataset_id"],
            f"dataset {dataset.id} has no targets; it can only be used for batch predictions",
        )
    task = task or ("classification" if dataset.target_kind == "labels" else "regression")
    if task == "classification" and dataset.target_kind != "labels":
        raise _invalid(
            ["task"],
            f"classification needs labels, but dataset {dataset.id} has"
            " numeric target values: use task 'regression', or upload the targets as"
            " labels (integers or strings, or target_kind 'labels')",
        )
    if task == "regression" and dataset.target_kind != "values":
        raise _invalid(
            ["task"],
            f"regression needs numeric target values, but dataset"
            f" {dataset.id} has labels: use task 'classification', or upload the"
            " targets with target_kind 'values'",
        )
    classes = dataset.classes or []
    if task == "classification" and len(classes) < 2:
        raise _invalid(
            ["dataset_id"],
            f"classification needs at least 2 classes; dataset"
            f" {dataset.id} has only {classes[0] if classes else 'none'!r}",
        )
    return task


def _output_and_loss(network: NetworkSpec, task: str) -> tuple[str, str, list[dict[str, Any]]]:
    """The output activation and loss (each defaulted from the other, else from the task)."""
    output: str | None = network.output_activation
    loss: str | None = network.loss
    if output is None and loss is None:
        output, loss = TASK_DEFAULTS[task]
    elif loss is None:
        partner = {"softmax": "cross_entropy", "sigmoid": "binary_cross_entropy"}.get(
            output or "", "mse"
        )
        loss = "mse" if task == "regression" and partner == "binary_cross_entropy" else partner
    elif output is None:
        output = REQUIRED_ACTIVATION.get(loss, "identity")
    assert output is not None and loss is not None
    errors = []
    required = REQUIRED_ACTIVATION.get(loss)
    if required is not None and output != required:
        errors.append(
            _error(
                ["network", "loss"],
                f"{loss} needs output_activation {required},"
                f" not {output}; use {required}, or loss mse (which pairs with any"
                " output activation)",
            )
        )
    if task == "regression" and output == "softmax":
        errors.append(
            _error(
                ["network", "output_activation"],
                "softmax is for classification (its outputs sum to 1); for regression use identity",
            )
        )
    if task == "regression" and loss != "mse":
        errors.append(
            _error(["network", "loss"], f"{loss} is a classification loss; regression uses mse")
        )
    return output, loss, errors


def _check_with_engine(spec: dict[str, Any]) -> None:
    """Let the engine check the spec too, so a job it would refuse is refused now (422)."""
    from worker.nn.defaults import fill_network_defaults, fill_training_defaults
    from worker.nn.errors import SpecError

    try:
        fill_network_defaults(spec["network"], spec["task"])
        fill_training_defaults(spec["training"])
    except SpecError as exc:
        path, _, msg = str(exc).partition(": ")
        loc: list[str | int] = [
            int(p) if p.isdigit() else p for p in re.split(r"[.\[\]]+", path) if p
        ]
        raise _invalid(loc, msg or str(exc)) from None


def _error(loc: list[str | int], msg: str) -> dict[str, Any]:
    return field_error(["body", *loc], msg)


def _invalid(loc: list[str | int], msg: str) -> InvalidInput:
    return InvalidInput(msg, errors=[_error(loc, msg)])
