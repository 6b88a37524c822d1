"""Per-layer diagnostics of a training run (``training.diagnostics``), one block per epoch.

For layer ``l`` (1-based, ``W_l`` of shape ``(fan_in, fan_out)``) an epoch's block holds

- ``grad_norm``: ``mean_b ‖∂L_b/∂W_l‖₂`` over the epoch's batches ``b`` (the data loss's
  gradient, before clipping and weight decay);
- ``weight_norm``: ``‖W_l‖₂`` at the end of the epoch;
- ``update_ratio``: ``‖ΔW_l‖₂ / ‖W_l‖₂`` of the epoch's last optimizer step (``ΔW`` is what
  the optimizer actually changed, so ``lr·‖update‖`` for any optimizer);
- ``dead``: for relu layers, the fraction of units whose activation is 0 on every row of the
  epoch's last batch (null for other activations);
- ``saturated``: for sigmoid/tanh layers, the fraction of units with ``|z| > 4`` on at least
  99 % of the last batch's rows (read off the activation: ``σ(z)`` outside
  ``[σ(-4), σ(4)]``, ``|tanh z| > tanh 4``; null for others).

Cost. Per batch only one dot product per layer (``‖dW‖²``); the rest runs once per epoch on
the last batch (a copy of the weights before its step, column reductions of its activations).

``warnings`` (``epoch_warnings``) name, in plain words, what the latest epochs show to be wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

SATURATION_Z = 4.0
SATURATED_ROWS = 0.99
VANISHING_RATIO = 1e-3  # first layer's grad norm below this × the last layer's
DEAD_FRACTION = 0.5
EXPLODING_NORM = 1e3  # a layer's mean gradient norm above this
UPDATE_RATIO = 1e-1  # ... staying above this for STAYS epochs
STAYS = 3


class Probe:
    """Accumulates one epoch's diagnostics for ``net`` (a ``Network``)."""

    def __init__(self, net: Any) -> None:
        self.net = net
        self.grad_flat = [layer.dW.reshape(-1) for layer in net.layers]
        self.sums = np.zeros(len(net.layers))
        self.batches = 0
        self.before = np.empty(net.n_weights, net.dtype)  # the weights before the last step
        self.update_norms = np.zeros(len(net.layers))

    def start_epoch(self) -> None:
        self.sums[:] = 0.0
        self.batches = 0

    def add_batch(self) -> None:
        """After a batch's backward pass: add each layer's ``‖dW‖₂``."""
        sums = self.sums
        for i, g in enumerate(self.grad_flat):
            sums[i] += float(np.dot(g, g)) ** 0.5
        self.batches += 1

    def before_last_step(self) -> None:
        np.copyto(self.before, self.net.flat_params[: self.net.n_weights])

    def after_last_step(self) -> None:
        delta = self.net.flat_params[: self.net.n_weights] - self.before
        at = 0
        for i, layer in enumerate(self.net.layers):
            d = delta[at : at + layer.W.size]
            self.update_norms[i] = float(np.dot(d, d)) ** 0.5
            at += layer.W.size

    def result(self, X_last: np.ndarray) -> list[dict[str, Any]]:
        """The epoch's per-layer block; ``X_last`` ``(m, n_inputs)`` is the last batch's
        prepared inputs, passed forward again with the end-of-epoch weights (backpropagation
        overwrites the batch's own activations) and without dropout."""
        net, rows = self.net, []
        acts, A = [], X_last
        for layer in net.layers[:-1]:
            A = layer.forward(A, np.empty((A.shape[0], layer.W.shape[1]), net.dtype))
            acts.append(A)
        for i, layer in enumerate(net.layers):
            w = layer.W.reshape(-1)
            weight_norm = float(np.dot(w, w)) ** 0.5
            dead = saturated = None
            if i < len(acts):
                dead, saturated = activation_health(layer.activation, acts[i])
            rows.append({
                "layer": i + 1, "activation": layer.activation,
                "grad_norm": self.sums[i] / max(1, self.batches),
                "weight_norm": weight_norm,
                "update_ratio": self.update_norms[i] / weight_norm if weight_norm > 0 else None,
                "dead": dead, "saturated": saturated,
            })
        return rows


def activation_health(activation: str, A: np.ndarray) -> tuple[float | None, float | None]:
    """``(dead, saturated)`` fractions of the units of activations ``A`` ``(m, units)``."""
    if activation == "relu":
        return float(np.mean(~A.any(axis=0))), None
    if activation == "sigmoid":
        lo = 1.0 / (1.0 + np.exp(SATURATION_Z))
        out = (A < lo) | (A > 1.0 - lo)
    elif activation == "tanh":
        out = np.abs(A) > np.tanh(SATURATION_Z)
    else:
        return None, None
    return None, float(np.mean(out.mean(axis=0) >= SATURATED_ROWS))


def epoch_warnings(blocks: Sequence[Sequence[dict[str, Any]]]) -> list[str]:
    """Plain-words warnings from the epochs' per-layer blocks so far (latest last)."""
    if not blocks:
        return []
    last, found = blocks[-1], []
    first_norm, last_norm = last[0]["grad_norm"], last[-1]["grad_norm"]
    if len(last) >= 2 and last_norm > 0 and first_norm < VANISHING_RATIO * last_norm:
        found.append(f"vanishing gradients in layer 1: its gradient norm {first_norm:.2e} is "
                     f"below {VANISHING_RATIO:g} of the last layer's ({last_norm:.2e}); "
                     "try relu with he init or fewer layers")
    for row in last:
        if row["dead"] is not None and row["dead"] > DEAD_FRACTION:
            found.append(f"dead ReLUs in layer {row['layer']}: {row['dead']:.0%} of its units "
                         "output 0 for every row; try a lower learning rate, leaky_relu or he "
                         "init")
        if not np.isfinite(row["grad_norm"]) or row["grad_norm"] > EXPLODING_NORM:
            found.append(f"exploding gradients in layer {row['layer']}: gradient norm "
                         f"{row['grad_norm']:.2e}; try a lower learning rate or clip_grad_norm")
    recent = blocks[-STAYS:]
    if len(recent) == STAYS:
        for i, row in enumerate(last):
            ratios = [b[i]["update_ratio"] for b in recent]
            if all(r is not None and r > UPDATE_RATIO for r in ratios):
                found.append(f"learning rate too high for layer {row['layer']}: each step "
                             f"changes its weights by {ratios[-1]:.0%} of their norm (over "
                             f"{UPDATE_RATIO:g} for {STAYS} epochs); try a lower learning rate")
    return found
