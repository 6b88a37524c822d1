"""Weight initialization from an explicit seed (``np.random.default_rng(seed)``); biases are zero.

Weights are drawn in float64 and then cast, so a float32 and a float64 network built from the same
spec and seed start from the same (rounded) weights.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .activations import RELU_FAMILY


def he(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    """He normal: ``W ~ N(0, 2 / fan_in)``, shape ``(fan_in, fan_out)``."""
    return rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)


def glorot(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    """Glorot uniform: ``W ~ U(-l, l)`` with ``l = sqrt(6 / (fan_in + fan_out))``."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out))


INITIALIZERS: dict[str, Callable[[np.random.Generator, int, int], np.ndarray]] = {
    "he": he,
    "glorot": glorot,
}


def initial_weights(
    sizes: Sequence[int], activations: Sequence[str], init: str, seed: int
) -> list[np.ndarray]:
    """Weights for layers ``sizes[i] → sizes[i + 1]``, in float64.

    Parameters
    ----------
    sizes : sequence of int
        ``[n_inputs, units_1, …, n_outputs]``.
    activations : sequence of str
        Each layer's activation (``len(sizes) - 1`` of them); ``init="auto"`` uses He for the
        relu family (relu, leaky_relu, elu) and Glorot otherwise, layer by layer.
    init : {"auto", "he", "glorot"}
    seed : int
    """
    rng = np.random.default_rng(seed)
    weights = []
    for fan_in, fan_out, activation in zip(sizes[:-1], sizes[1:], activations, strict=True):
        name = init if init != "auto" else ("he" if activation in RELU_FAMILY else "glorot")
        weights.append(INITIALIZERS[name](rng, fan_in, fan_out))
    return weights
