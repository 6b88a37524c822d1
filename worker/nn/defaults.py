"""Filling and checking the job spec's ``network`` and ``training`` objects (docs/api.md "Jobs").

Both are declared once, in ``worker.spec``; these are the engine's entry points to it.
``fill_network_defaults`` and ``fill_training_defaults`` return new, complete dicts with every
default filled in, or raise ``SpecError`` naming the offending field
(``network.hidden_layers[1].activation: unknown activation 'relux'; expected one of …``).
Unknown fields are refused too, so a typo never silently falls back to a default.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from worker.spec import fill_network, fill_training


def fill_network_defaults(network: Mapping[str, Any], task: str | None = None) -> dict[str, Any]:
    """Return a complete, checked copy of the spec's ``network`` object.

    Parameters
    ----------
    network : mapping
        ``{"hidden_layers": [{"units", "activation"}], "output_activation", "loss", "init"}``,
        any field optional. Without ``hidden_layers``, the one default network
        (``worker.spec.DEFAULT_HIDDEN_LAYERS``, 64 relu then 32 tanh) — the service's too;
        ``"hidden_layers": []`` is a linear model.
    task : {"classification", "regression"} or None
        Chooses the output defaults (classification → softmax + cross_entropy, regression →
        identity + mse) when neither ``output_activation`` nor ``loss`` is given. With only one
        given, the other is its canonical partner (softmax ↔ cross_entropy, sigmoid ↔
        binary_cross_entropy for classification, anything else → mse).
    """
    return fill_network(network, task)


def fill_training_defaults(training: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return a complete, checked copy of the spec's ``training`` object (docs/api.md defaults).

    ``validation_split`` and ``early_stopping`` may be ``None`` (off); a missing field takes its
    default (0.1 and patience 10 respectively). A partial ``early_stopping`` or ``optimizer``
    object is completed field by field.
    """
    return fill_training(training)
