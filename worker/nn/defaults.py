"""Fill in and check the job spec's ``network`` and ``training`` objects (API.md "Jobs").

``fill_network_defaults`` and ``fill_training_defaults`` return new, complete dicts with every
default of API.md filled in, or raise ``SpecError`` naming the offending field
(``network.hidden_layers[1].activation: unknown activation 'relux'; expected one of …``).
Unknown fields are refused too, so a typo never silently falls back to a default.

Learning-rate defaults: ``0.001`` for ``adam`` and ``rmsprop``, ``0.01`` for ``sgd`` and
``momentum`` (plain gradient steps need a larger step to make progress in 50 epochs).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any

from .activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
from .errors import SpecError
from .losses import LOSS_FUNCTIONS, REQUIRED_ACTIVATION

TASKS = ("classification", "regression")
INITS = ("auto", "he", "glorot")
DTYPES = ("float32", "float64")
TASK_DEFAULTS = {
    "classification": ("softmax", "cross_entropy"),
    "regression": ("identity", "mse"),
}
OPTIMIZER_DEFAULTS: dict[str, dict[str, float]] = {
    "sgd": {"learning_rate": 0.01},
    "momentum": {"learning_rate": 0.01, "beta": 0.9},
    "rmsprop": {"learning_rate": 0.001, "beta": 0.9, "epsilon": 1e-8},
    "adam": {"learning_rate": 0.001, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
}
EARLY_STOPPING_DEFAULTS: dict[str, Any] = {"patience": 10, "min_delta": 0.0, "restore_best": True}
TRAINING_DEFAULTS: dict[str, Any] = {
    "epochs": 50,
    "batch_size": 32,
    "shuffle": True,
    "seed": 0,
    "dtype": "float32",
    "optimizer": {"name": "adam"},
    "weight_decay": 0.0,
    "validation_split": 0.1,
    "standardize": True,
    "early_stopping": EARLY_STOPPING_DEFAULTS,
}


def _choices(values: Any) -> str:
    return ", ".join(values)


def _check_fields(obj: Any, where: str, allowed: Any) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise SpecError(f"{where}: expected an object, got {type(obj).__name__}")
    for key in obj:
        if key not in allowed:
            raise SpecError(f"{where}: unknown field {key!r}; expected one of {_choices(allowed)}")
    return obj


def _check_choice(value: Any, where: str, what: str, allowed: Any) -> str:
    if value not in allowed:
        raise SpecError(f"{where}: unknown {what} {value!r}; expected one of {_choices(allowed)}")
    return str(value)


def _check_int(value: Any, where: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"{where}: expected an integer, got {value!r}")
    if value < minimum:
        raise SpecError(f"{where}: must be at least {minimum}, got {value}")
    return value


def _check_number(
    value: Any, where: str, low: float, high: float | None = None, *, open_low: bool = False
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SpecError(f"{where}: expected a finite number, got {value!r}")
    if value < low or (open_low and value == low) or (high is not None and value >= high):
        bounds = f"{'>' if open_low else '≥'} {low}"
        bounds += f" and < {high}" if high is not None else ""
        raise SpecError(f"{where}: must be {bounds}, got {value}")
    return float(value)


def _check_bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise SpecError(f"{where}: expected true or false, got {value!r}")
    return value


def fill_network_defaults(network: Mapping[str, Any], task: str | None = None) -> dict[str, Any]:
    """Return a complete, checked copy of the spec's ``network`` object.

    Parameters
    ----------
    network : mapping
        ``{"hidden_layers": [{"units", "activation"}], "output_activation", "loss", "init"}``,
        any field optional.
    task : {"classification", "regression"} or None
        Chooses the output defaults (classification → softmax + cross_entropy, regression →
        identity + mse) when neither ``output_activation`` nor ``loss`` is given. With only one
        given, the other is its canonical partner (softmax ↔ cross_entropy, sigmoid ↔
        binary_cross_entropy for classification, anything else → mse).
    """
    _check_fields(network, "network", ("hidden_layers", "output_activation", "loss", "init"))
    if task is not None:
        _check_choice(task, "task", "task", TASKS)
    layers = network.get("hidden_layers") or []
    if not isinstance(layers, list):
        raise SpecError("network.hidden_layers: expected a list of {units, activation} objects")
    hidden = []
    for i, layer in enumerate(layers):
        where = f"network.hidden_layers[{i}]"
        _check_fields(layer, where, ("units", "activation"))
        if "units" not in layer:
            raise SpecError(f"{where}.units: required (a positive integer)")
        units = _check_int(layer["units"], f"{where}.units", 1)
        activation = layer.get("activation", "relu")
        if activation == "softmax":
            raise SpecError(
                f"{where}.activation: softmax is only allowed as network.output_activation; "
                f"expected one of {_choices(HIDDEN_ACTIVATIONS)}"
            )
        _check_choice(activation, f"{where}.activation", "activation", HIDDEN_ACTIVATIONS)
        hidden.append({"units": units, "activation": activation})

    output, loss = network.get("output_activation"), network.get("loss")
    if output is None and loss is None:
        if task is None:
            raise SpecError(
                "network.loss: required when the task is unknown; give network.loss and "
                "network.output_activation, or the task (classification or regression)"
            )
        output, loss = TASK_DEFAULTS[task]
    elif loss is None:
        _check_choice(output, "network.output_activation", "activation", OUTPUT_ACTIVATIONS)
        partners = {"softmax": "cross_entropy", "sigmoid": "binary_cross_entropy"}
        loss = partners.get(str(output), "mse")
        if loss == "binary_cross_entropy" and task != "classification":
            loss = "mse"
    elif output is None:
        _check_choice(loss, "network.loss", "loss", tuple(LOSS_FUNCTIONS))
        output = REQUIRED_ACTIVATION.get(loss, "identity")
    _check_choice(output, "network.output_activation", "activation", OUTPUT_ACTIVATIONS)
    _check_choice(loss, "network.loss", "loss", tuple(LOSS_FUNCTIONS))
    required = REQUIRED_ACTIVATION.get(loss)
    if required is not None and output != required:
        raise SpecError(
            f"network.loss: {loss} needs output_activation {required}, got {output}; "
            f"use {required}, or loss mse (which pairs with any output activation)"
        )
    init = _check_choice(network.get("init", "auto"), "network.init", "init", INITS)
    return {"hidden_layers": hidden, "output_activation": output, "loss": loss, "init": init}


def _fill_optimizer(optimizer: Any) -> dict[str, Any]:
    if isinstance(optimizer, str):
        optimizer = {"name": optimizer}
    _check_fields(optimizer, "training.optimizer", ("name", "learning_rate", "beta", "beta1",
                                                    "beta2", "epsilon"))
    name = _check_choice(
        optimizer.get("name", "adam"), "training.optimizer.name", "optimizer",
        tuple(OPTIMIZER_DEFAULTS),
    )
    defaults = OPTIMIZER_DEFAULTS[name]
    filled: dict[str, Any] = {"name": name}
    for key, default in defaults.items():
        value = optimizer.get(key, default)
        where = f"training.optimizer.{key}"
        if key == "learning_rate" or key == "epsilon":
            filled[key] = _check_number(value, where, 0.0, open_low=True)
        else:
            filled[key] = _check_number(value, where, 0.0, 1.0)
    for key in optimizer:
        if key != "name" and key not in defaults:
            raise SpecError(
                f"training.optimizer.{key}: not a parameter of {name}; "
                f"{name} takes {_choices(defaults)}"
            )
    return filled


def fill_training_defaults(training: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return a complete, checked copy of the spec's ``training`` object (API.md defaults).

    ``validation_split`` and ``early_stopping`` may be ``None`` (off); a missing field takes its
    default (0.1 and patience 10 respectively). A partial ``early_stopping`` or ``optimizer``
    object is completed field by field.
    """
    training = _check_fields(training or {}, "training", tuple(TRAINING_DEFAULTS))
    filled = copy.deepcopy(TRAINING_DEFAULTS)
    filled.update(copy.deepcopy(dict(training)))
    filled["epochs"] = _check_int(filled["epochs"], "training.epochs", 1)
    filled["batch_size"] = _check_int(filled["batch_size"], "training.batch_size", 1)
    filled["shuffle"] = _check_bool(filled["shuffle"], "training.shuffle")
    filled["seed"] = _check_int(filled["seed"], "training.seed", 0)
    filled["dtype"] = _check_choice(filled["dtype"], "training.dtype", "dtype", DTYPES)
    filled["optimizer"] = _fill_optimizer(filled["optimizer"])
    filled["weight_decay"] = _check_number(filled["weight_decay"], "training.weight_decay", 0.0)
    if filled["validation_split"] is not None:
        filled["validation_split"] = _check_number(
            filled["validation_split"], "training.validation_split", 0.0, 1.0
        )
    filled["standardize"] = _check_bool(filled["standardize"], "training.standardize")
    stopping = filled["early_stopping"]
    if stopping is not None:
        where = "training.early_stopping"
        _check_fields(stopping, where, tuple(EARLY_STOPPING_DEFAULTS))
        stopping = {**EARLY_STOPPING_DEFAULTS, **stopping}
        stopping["patience"] = _check_int(stopping["patience"], f"{where}.patience", 0)
        stopping["min_delta"] = _check_number(stopping["min_delta"], f"{where}.min_delta", 0.0)
        stopping["restore_best"] = _check_bool(stopping["restore_best"], f"{where}.restore_best")
        filled["early_stopping"] = stopping
    return filled
