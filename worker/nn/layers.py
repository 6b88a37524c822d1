"""The dense layer: forward and backward next to each other (micrograd style).

A layer does not own memory: its weights, biases and their gradients are views into the
network's flat parameter and gradient vectors (so an optimizer updates every layer in a few
vectorized calls), and its outputs go to buffers the caller preallocates per batch size.
"""

from __future__ import annotations

import numpy as np

from .activations import ACTIVATIONS, DERIVATIVES


class Dense:
    """A fully connected layer ``A = σ(X W + b)``.

    Parameters
    ----------
    W, dW : ndarray of shape (fan_in, fan_out)
        Weights and their gradient (views, C-contiguous).
    b, db : ndarray of shape (fan_out,)
        Biases and their gradient (views).
    activation : str
        A key of ``ACTIVATIONS``.
    """

    def __init__(
        self, W: np.ndarray, b: np.ndarray, dW: np.ndarray, db: np.ndarray, activation: str
    ) -> None:
        self.W, self.b, self.dW, self.db = W, b, dW, db
        self.activation = activation
        self._activate = ACTIVATIONS[activation]
        self._derivative = DERIVATIVES[activation]

    def linear(self, X: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``Z = X W + b`` into ``out`` ``(n, fan_out)`` with one GEMM; ``X`` is ``(n, fan_in)``."""
        np.matmul(X, self.W, out=out)
        out += self.b
        return out

    def forward(self, X: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``A = σ(X W + b)`` into ``out``, the activation applied in place."""
        np.matmul(X, self.W, out=out)
        out += self.b
        return self._activate(out)

    def backward(
        self, X: np.ndarray, dLdZ: np.ndarray, dLdX: np.ndarray | None = None
    ) -> np.ndarray | None:
        """Store ``dW = Xᵀ dLdZ`` and ``db = Σ_rows dLdZ``; return ``dLdX = dLdZ Wᵀ``.

        Parameters
        ----------
        X : ndarray of shape (n, fan_in)
            The layer's input from the forward pass.
        dLdZ : ndarray of shape (n, fan_out)
            Gradient of the loss with respect to the pre-activations.
        dLdX : ndarray of shape (n, fan_in) or None
            Buffer for the input gradient; ``None`` for the first layer (nothing needs it, so the
            GEMM is skipped).
        """
        np.matmul(X.T, dLdZ, out=self.dW)
        np.add.reduce(dLdZ, axis=0, out=self.db)  # np.sum, without its Python wrapper
        if dLdX is None:
            return None
        return np.matmul(dLdZ, self.W.T, out=dLdX)

    def activation_backward(self, A: np.ndarray, dLdA: np.ndarray) -> np.ndarray:
        """``dLdZ = dLdA ⊙ σ'(Z)`` in place; ``A`` (this layer's output) is scratch afterwards."""
        return self._derivative(A, dLdA)
