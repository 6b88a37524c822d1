"""Inverted dropout on hidden layers (``network.hidden_layers[].dropout`` = ``p``, 0 ≤ p < 1).

While training, each hidden layer's activations ``A`` ``(m, units)`` are multiplied by a mask
``M = [U ≥ p] / (1 − p)`` with ``U`` uniform on [0, 1) — kept units are scaled by ``1/(1−p)``
so that the expected activation is unchanged — and the next layer reads ``A ⊙ M``. The backward
pass multiplies the gradient reaching ``A`` by the same ``M``. At evaluation and predict
dropout is the identity (no mask at all).

Masks are drawn from the run's ``dropout`` random stream (``random.RandomStreams``), one
``U`` of shape ``(m, units)`` per dropout layer per batch, in layer order, always in float64 (so
float32 and float64 runs drop the same units); the stream's state is part of the training
state, so a resumed run draws the same masks as the uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def dropout_rates(hidden_layers: Sequence[dict]) -> list[float]:
    """``p`` of each hidden layer (0 when not given)."""
    return [float(layer.get("dropout") or 0.0) for layer in hidden_layers]


def draw_masks(rng: np.random.Generator, rates: Sequence[float],
               masks: Sequence[np.ndarray | None],
               uniform: Sequence[np.ndarray | None] | None = None) -> None:
    """Fill each layer's preallocated mask ``(m, units)`` with ``[U ≥ p] / (1 − p)``.

    ``uniform``, when given, holds a float64 buffer of the mask's shape per dropout layer for
    ``U`` (the same numbers as a fresh array: the draws do not depend on where they land), so
    a batch allocates nothing.
    """
    for i, (p, mask) in enumerate(zip(rates, masks, strict=True)):
        if mask is None:
            continue
        U = rng.random(mask.shape) if uniform is None or uniform[i] is None \
            else rng.random(out=uniform[i])
        np.greater_equal(U, p, out=mask)  # 1 where kept, 0 where dropped, in the mask's dtype
        mask *= 1.0 / (1.0 - p)  # the float64 scale rounded once to the dtype, as before
