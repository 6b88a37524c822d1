"""Activation functions and their derivatives, as small in-place functions in registries.

Following scikit-learn's ``neural_network/_base.py``: every forward function overwrites its
argument ``Z`` (pre-activations, shape ``(n_samples, n_units)``) with ``A = σ(Z)``. Every
derivative function multiplies ``dLdA`` in place by ``σ'(Z)`` expressed through the stored
activations ``A``, so pre-activations never need to be kept. Derivative functions may use ``A``
as scratch space (its contents are undefined afterwards); the network calls them once per batch,
after ``A`` has served as the next layer's input.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from worker.spec import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS

LEAKY_SLOPE = 0.01  # leaky_relu slope for Z < 0; elu uses alpha = 1


def identity(Z: np.ndarray) -> np.ndarray:
    """``A = Z``."""
    return Z


def sigmoid(Z: np.ndarray) -> np.ndarray:
    """``A = 1 / (1 + exp(-Z))``, computed as ``(1 + tanh(Z / 2)) / 2`` (never overflows)."""
    Z *= 0.5
    np.tanh(Z, out=Z)
    Z += 1.0
    Z *= 0.5
    return Z


def tanh(Z: np.ndarray) -> np.ndarray:
    """``A = tanh(Z)``."""
    return np.tanh(Z, out=Z)


def relu(Z: np.ndarray) -> np.ndarray:
    """``A = max(Z, 0)`` (``np.clip``'s loop is vectorized; ``np.maximum`` with a scalar is not)."""
    return np.clip(Z, 0.0, np.inf, out=Z)


def leaky_relu(Z: np.ndarray) -> np.ndarray:
    """``A = Z`` where ``Z > 0``, else ``0.01 Z``."""
    return np.maximum(Z, Z * LEAKY_SLOPE, out=Z)


def elu(Z: np.ndarray) -> np.ndarray:
    """``A = Z`` where ``Z > 0``, else ``alpha (exp(Z) - 1)`` with ``alpha = 1``."""
    negative = np.minimum(Z, 0.0)  # expm1 of the negative part only: no overflow
    np.expm1(negative, out=negative)
    np.maximum(Z, 0.0, out=Z)
    Z += negative
    return Z


def softmax(Z: np.ndarray) -> np.ndarray:
    """Row-wise ``A_ik = exp(Z_ik) / Σ_j exp(Z_ij)``, shifted by the row maximum for stability.

    (The ufuncs' ``reduce`` is what ``Z.max``/``Z.sum`` call after a Python wrapper: the same
    numbers, a few µs less per batch.)
    """
    Z -= np.maximum.reduce(Z, axis=1, keepdims=True)
    np.exp(Z, out=Z)
    Z /= np.add.reduce(Z, axis=1, keepdims=True)
    return Z


def inplace_identity_derivative(A: np.ndarray, dLdA: np.ndarray) -> np.ndarray:
    """``σ'(Z) = 1``: nothing to do."""
    return dLdA


def inplace_sigmoid_derivative(A: np.ndarray, dLdA: np.ndarray) -> np.ndarray:
    """``dLdA *= A (1 - A)``."""
    dLdA *= A
    np.subtract(1.0, A, out=A)
    dLdA *= A
    return dLdA


def inplace_tanh_derivative(A: np.ndarray, dLdA: np.ndarray) -> np.ndarray:
    """``dLdA *= 1 - A²``."""
    np.square(A, out=A)
    np.subtract(1.0, A, out=A)
    dLdA *= A
    return dLdA


def inplace_relu_derivative(A: np.ndarray, dLdA: np.ndarray) -> np.ndarray:
    """``dLdA *= [A > 0]`` (the indicator written into ``A`` as 0.0/1.0)."""
    np.greater(A, 0.0, out=A)
    dLdA *= A
    return dLdA


def inplace_leaky_relu_derivative(A: np.ndarray, dLdA: np.ndarray) -> np.ndarray:
    """``dLdA *= 1`` where ``A > 0``, else ``0.01``: ``[A > 0] (1 - 0.01) + 0.01``, exactly."""
    np.greater(A, 0.0, out=A)
    A *= 1.0 - LEAKY_SLOPE
    A += LEAKY_SLOPE
    dLdA *= A
    return dLdA


def inplace_elu_derivative(A: np.ndarray, dLdA: np.ndarray) -> np.ndarray:
    """``dLdA *= 1`` where ``A > 0``, else ``A + 1`` (``= exp(Z)``): ``min(A + 1, 1)``."""
    A += 1.0
    np.minimum(A, 1.0, out=A)
    dLdA *= A
    return dLdA


def inplace_softmax_derivative(A: np.ndarray, dLdA: np.ndarray) -> np.ndarray:
    """Softmax Jacobian-vector product, row-wise: ``dLdZ = A ⊙ (dLdA - Σ_j dLdA_j A_j)``.

    ``A`` is left intact.
    """
    dLdA -= np.einsum("ij,ij->i", dLdA, A)[:, None]
    dLdA *= A
    return dLdA


Activation = Callable[[np.ndarray], np.ndarray]
Derivative = Callable[[np.ndarray, np.ndarray], np.ndarray]

ACTIVATIONS: dict[str, Activation] = {
    "identity": identity,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "elu": elu,
    "softmax": softmax,
}

DERIVATIVES: dict[str, Derivative] = {
    "identity": inplace_identity_derivative,
    "sigmoid": inplace_sigmoid_derivative,
    "tanh": inplace_tanh_derivative,
    "relu": inplace_relu_derivative,
    "leaky_relu": inplace_leaky_relu_derivative,
    "elu": inplace_elu_derivative,
    "softmax": inplace_softmax_derivative,
}

__all__ = ["ACTIVATIONS", "DERIVATIVES", "HIDDEN_ACTIVATIONS", "LEAKY_SLOPE",
           "OUTPUT_ACTIVATIONS", "RELU_FAMILY"]

RELU_FAMILY = frozenset({"relu", "leaky_relu", "elu"})
