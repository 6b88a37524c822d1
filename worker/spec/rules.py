"""The rules that tie fields together: the output activation and loss (each defaulted from the
other, else from the task) and which pairings are legal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .job import NETWORK, PARTNER_LOSS, REQUIRED_ACTIVATION, TASK_DEFAULTS, TASKS, TRAINING
from .schema import Choice, SpecError

_OUTPUT = NETWORK.fields["output_activation"]
_LOSS = NETWORK.fields["loss"]


def output_and_loss(
    output: str | None, loss: str | None, task: str | None
) -> tuple[str, str, list[SpecError]]:
    """``(output_activation, loss, errors)``: each defaulted from the other, else from ``task``.

    With only the output given, its partner loss (softmax → cross_entropy, sigmoid →
    binary_cross_entropy for classification, anything else → mse); with only the loss, the
    activation it needs (identity for mse). ``errors`` lists every illegal pairing (and, for
    regression, every classification-only choice) with its field's ``loc``.
    """
    if output is None and loss is None:
        if task is None:
            raise SpecError(("network", "loss"), "required when the task is unknown; give "
                            "network.loss and network.output_activation, or the task "
                            "(classification, regression or multilabel)")
        output, loss = TASK_DEFAULTS[task]
    elif loss is None:
        output = _OUTPUT.fill(output, ("network", "output_activation"))
        loss = PARTNER_LOSS.get(output, "mse")
        if loss == "binary_cross_entropy" and task not in ("classification", "multilabel"):
            loss = "mse"
    elif output is None:
        loss = _LOSS.fill(loss, ("network", "loss"))
        output = REQUIRED_ACTIVATION.get(loss, "identity")
    output = _OUTPUT.fill(output, ("network", "output_activation"))
    loss = _LOSS.fill(loss, ("network", "loss"))
    errors = []
    required = REQUIRED_ACTIVATION.get(loss)
    if required is not None and output != required:
        errors.append(SpecError(("network", "loss"), (
            f"{loss} needs output_activation {required}, got {output}; use {required}, or "
            "loss mse (which pairs with any output activation)")))
    if task == "regression" and output == "softmax":
        errors.append(SpecError(("network", "output_activation"), (
            "softmax is for classification (its outputs sum to 1); for regression use "
            "identity")))
    if task == "regression" and loss != "mse":
        errors.append(SpecError(("network", "loss"),
                                f"{loss} is a classification loss; regression uses mse"))
    if task == "multilabel" and output != "sigmoid":
        errors.append(SpecError(("network", "output_activation"), (
            f"multilabel needs output_activation sigmoid (one probability per label), got "
            f"{output}")))
    return output, loss, errors


def fill_network(network: Mapping[str, Any], task: str | None = None) -> dict[str, Any]:
    """A complete, checked copy of the spec's ``network`` object; ``SpecError`` names the field.

    ``task`` chooses the output defaults when neither ``output_activation`` nor ``loss`` is
    given, and refuses classification-only choices for regression.
    """
    filled, errors = network_and_errors(network, task)
    if errors:
        raise errors[0]
    return filled


def network_and_errors(
    network: Mapping[str, Any], task: str | None = None
) -> tuple[dict[str, Any], list[SpecError]]:
    """Like ``fill_network``, but every pairing error is returned (the API reports them all)
    rather than the first raised; errors in single fields still raise."""
    NETWORK.check_keys(network, ("network",))
    if task is not None:
        Choice(choices=TASKS, what="task").fill(task, ("task",))
    filled = NETWORK.fill(dict(network), ("network",))
    output, loss, errors = output_and_loss(filled["output_activation"], filled["loss"], task)
    network = {"hidden_layers": filled["hidden_layers"], "output_activation": output,
               "loss": loss, "init": filled["init"]}
    if filled["initial_weights"] is not None:  # stored only when given: older specs unchanged
        network["initial_weights"] = filled["initial_weights"]
    return network, errors


def fill_training(training: Mapping[str, Any] | None) -> dict[str, Any]:
    """A complete, checked copy of the spec's ``training`` object (docs/api.md defaults).

    ``validation_split`` and ``early_stopping`` may be ``None`` (off); a missing field takes its
    default. A partial ``early_stopping`` or ``optimizer`` object is completed field by field.
    """
    filled: dict[str, Any] = TRAINING.fill(training or {}, ("training",))
    return filled
