"""The job spec (the body of ``POST /v1/jobs``): pydantic models, defaults, checks against the data.

``JobSubmit`` checks the body on its own (FastAPI answers 422 with each field's ``loc``; unknown
fields are refused so a typo never silently falls back to a default). ``resolve_spec`` then fills
every default and checks the spec against the dataset and the service's limits, raising
``InvalidInput`` with ``loc``s shaped like FastAPI's (``["body", "network", "loss"]``).

Defaults are API.md's example values and agree with ``worker.nn.defaults``, except
``network.hidden_layers``: API.md's example ``[64 relu, 32 tanh]`` here (the engine's bare default
is no hidden layer; stored specs are always complete, so the engine never applies its own).
Extensions: ``priority`` (-100..100, higher runs first); ``training.optimizer`` may be just a name
(``"sgd"``) or omit ``name`` (adam). A default ``validation_split`` too small for the dataset
(no validation row) is switched off, together with a default ``early_stopping``.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from service import tables
from service.errors import InvalidInput, field_error
from service.settings import Settings

Task = Literal["classification", "regression"]
Activation = Literal["identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu"]
OutputActivation = Literal["identity", "sigmoid", "tanh", "relu", "softmax"]
Loss = Literal["mse", "binary_cross_entropy", "cross_entropy"]

TASK_DEFAULTS: dict[str, tuple[str, str]] = {
    "classification": ("softmax", "cross_entropy"),
    "regression": ("identity", "mse"),
}
REQUIRED_ACTIVATION = {"cross_entropy": "softmax", "binary_cross_entropy": "sigmoid"}
# Sustained float64 GEMM throughput of one worker, for estimate(); calibrated on a laptop core.
FLOPS_PER_SECOND = 5e9
# Python overhead of one optimizer step (slicing, a few small vectorized calls).
SECONDS_PER_STEP = 20e-6
_OPTIMIZER_SLOTS = {"sgd": 0, "momentum": 1, "rmsprop": 1, "adam": 2}


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class LayerSpec(_Spec):
    units: int = Field(ge=1)
    activation: Activation = "relu"


def _default_layers() -> list[LayerSpec]:
    return [LayerSpec(units=64, activation="relu"), LayerSpec(units=32, activation="tanh")]


class NetworkSpec(_Spec):
    hidden_layers: list[LayerSpec] = Field(default_factory=_default_layers)
    output_activation: OutputActivation | None = None
    loss: Loss | None = None
    init: Literal["auto", "he", "glorot"] = "auto"


class SGD(_Spec):
    name: Literal["sgd"]
    learning_rate: float = Field(0.01, gt=0)


class Momentum(_Spec):
    name: Literal["momentum"]
    learning_rate: float = Field(0.01, gt=0)
    beta: float = Field(0.9, ge=0, lt=1)


class RMSprop(_Spec):
    name: Literal["rmsprop"]
    learning_rate: float = Field(0.001, gt=0)
    beta: float = Field(0.9, ge=0, lt=1)
    epsilon: float = Field(1e-8, gt=0)


class Adam(_Spec):
    name: Literal["adam"]
    learning_rate: float = Field(0.001, gt=0)
    beta1: float = Field(0.9, ge=0, lt=1)
    beta2: float = Field(0.999, ge=0, lt=1)
    epsilon: float = Field(1e-8, gt=0)


Optimizer = Annotated[SGD | Momentum | RMSprop | Adam, Field(discriminator="name")]


class EarlyStopping(_Spec):
    patience: int = Field(10, ge=1)
    min_delta: float = Field(0.0, ge=0)
    restore_best: bool = True


class TrainingSpec(_Spec):
    epochs: int = Field(50, ge=1)
    batch_size: int = Field(32, ge=1)
    shuffle: bool = True
    seed: int = Field(0, ge=0, le=2**63 - 1)
    dtype: Literal["float32", "float64"] = "float32"
    optimizer: Optimizer = Field(default_factory=lambda: Adam(name="adam"))
    weight_decay: float = Field(0.0, ge=0)
    validation_split: float | None = Field(0.1, ge=0, lt=0.9)
    standardize: bool = True
    early_stopping: EarlyStopping | None = Field(default_factory=EarlyStopping)

    @field_validator("optimizer", mode="before")
    @classmethod
    def _optimizer_shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"name": value}
        if isinstance(value, dict) and "name" not in value:
            return {"name": "adam", **value}
        return value


class JobSubmit(_Spec):
    dataset_id: str = Field(min_length=1, max_length=40)
    task: Task | None = None
    network: NetworkSpec = Field(default_factory=NetworkSpec)
    training: TrainingSpec = Field(default_factory=TrainingSpec)
    max_attempts: int = Field(3, ge=1, le=10)
    priority: int = Field(0, ge=-100, le=100)


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


def estimate(spec: dict[str, Any], dataset: tables.Dataset) -> dict[str, Any]:
    """What a resolved spec will cost on ``dataset``; a worst case (early stopping may end sooner).

    ``flops_per_epoch`` ≈ 6 × training rows × parameters (forward 2, backward 4 multiply-adds
    counted as 2 flops each) + 2 × validation rows × parameters (the validation forward pass).
    ``memory_bytes``: the decoded dataset (float64) and its copy in the training dtype, the
    parameters, gradients and optimizer moments, and one batch of activations and their
    gradients. ``estimated_seconds`` = epochs × (flops_per_epoch / ``FLOPS_PER_SECOND`` + steps ×
    ``SECONDS_PER_STEP``).
    """
    training = spec["training"]
    n_out = output_units(dataset)
    parameters = count_parameters(spec, dataset.n_features, n_out)
    n_val = validation_rows(dataset.n_rows, training.get("validation_split"))
    n_train = dataset.n_rows - n_val
    flops = 6 * n_train * parameters + 2 * n_val * parameters
    itemsize = 4 if training["dtype"] == "float32" else 8
    columns = dataset.n_features + n_out
    units = sum(layer["units"] for layer in spec["network"]["hidden_layers"]) + n_out
    batch = min(training["batch_size"], max(n_train, 1))
    slots = 2 + _OPTIMIZER_SLOTS[training["optimizer"]["name"]]
    memory = (
        dataset.n_rows * columns * (8 + itemsize)
        + parameters * slots * itemsize
        + 2 * batch * units * itemsize
    )
    steps = math.ceil(n_train / batch) if n_train else 0
    seconds = training["epochs"] * (flops / FLOPS_PER_SECOND + steps * SECONDS_PER_STEP)
    return {
        "parameters": parameters,
        "flops_per_epoch": flops,
        "memory_bytes": memory,
        "estimated_seconds": round(seconds, 3),
    }


def request_sha256(body: dict[str, Any] | BaseModel) -> str:
    """SHA-256 of the submitted body as canonical JSON (sorted keys, no spaces), for
    ``Idempotency-Key`` conflicts. A model is hashed as the fields the client set."""
    if isinstance(body, BaseModel):
        body = body.model_dump(mode="json", exclude_unset=True)
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _error(loc: list[str | int], msg: str) -> dict[str, Any]:
    return field_error(["body", *loc], msg)


def _invalid(loc: list[str | int], msg: str) -> InvalidInput:
    return InvalidInput(msg, errors=[_error(loc, msg)])
