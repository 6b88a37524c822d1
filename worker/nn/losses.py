"""Losses (docs/api.md "Losses": means, not sums) and the output delta ``dL/dZ`` of each pairing.

Losses are evaluated from the output layer's pre-activations ``Z`` (logits) where that is the
stable form (log-softmax for ``cross_entropy``, log-sigmoid for ``binary_cross_entropy``), so no
probability is ever clipped. All arrays are ``(n_samples, n_outputs)``.

Output deltas overwrite the output activations ``A`` in place with ``dL/dZ``:

* canonical pairs use the fused delta — ``softmax + cross_entropy``: ``(A - Y) / n``;
  ``sigmoid + binary_cross_entropy``: ``(A - Y) / (n k)``;
  ``identity + mse``: ``2 (A - Y) / (n k)``;
* every other legal pairing (any activation with ``mse``) goes through the general chain rule
  ``dL/dZ = ∇_A L ⊙ σ'(Z)``, with the softmax Jacobian-vector product for softmax.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .activations import DERIVATIVES


def _logsumexp_rows(Z: np.ndarray) -> np.ndarray:
    """``log Σ_j exp(Z_ij)`` per row, shape ``(n_samples,)``."""
    top = Z.max(axis=1)
    return np.log(np.exp(Z - top[:, None]).sum(axis=1)) + top


def _weighted_mean(per_row: np.ndarray, w: np.ndarray) -> float:
    """``Σ w_i ℓ_i / Σ w_i`` (class weights: PyTorch's weighted mean)."""
    return float(np.dot(w, per_row) / w.sum())


def mse(Y: np.ndarray, Z: np.ndarray, A: np.ndarray, w: np.ndarray | None = None) -> float:
    """Mean over all ``n k`` entries of ``(A - Y)²`` (rows weighted by ``w`` when given)."""
    diff = A - Y
    if w is not None:
        return _weighted_mean(np.square(diff).mean(axis=1), w)
    return float(np.vdot(diff, diff) / diff.size)


def cross_entropy(Y: np.ndarray, Z: np.ndarray, A: np.ndarray,
                  w: np.ndarray | None = None) -> float:
    """Mean over rows of ``ℓ_i = -Σ_k Y_k log softmax(Z)_k``, via ``log p = Z - logsumexp(Z)``;
    ``Σ w_i ℓ_i / Σ w_i`` with row weights ``w`` ``(n,)``."""
    log_p = Z - _logsumexp_rows(Z)[:, None]
    if w is not None:
        return _weighted_mean(-np.einsum("ij,ij->i", Y, log_p), w)
    return float(-np.vdot(Y, log_p) / Y.shape[0])


def binary_cross_entropy(Y: np.ndarray, Z: np.ndarray, A: np.ndarray,
                         w: np.ndarray | None = None) -> float:
    """Mean over all entries of ``-(Y log p + (1 - Y) log(1 - p))`` with ``p = sigmoid(Z)``;
    with row weights ``w``, ``Σ w_i ℓ_i / Σ w_i`` of the row means ``ℓ_i``.

    Uses ``-log p = softplus(-Z)`` and ``-log(1 - p) = softplus(Z)``, i.e. the per-entry loss
    ``max(Z, 0) - Y Z + log1p(exp(-|Z|))``.
    """
    per_entry = np.maximum(Z, 0.0) - Y * Z + np.log1p(np.exp(-np.abs(Z)))
    if w is not None:
        return _weighted_mean(per_entry.mean(axis=1), w)
    return float(per_entry.mean())


LossFunction = Callable[..., float]

LOSS_FUNCTIONS: dict[str, LossFunction] = {
    "mse": mse,
    "cross_entropy": cross_entropy,
    "binary_cross_entropy": binary_cross_entropy,
}


# pairs whose delta is ``scale * (A - Y)``: the scale for ``n`` rows and ``k`` outputs
FUSED_SCALES: dict[tuple[str, str], Callable[[int, int], float]] = {
    ("softmax", "cross_entropy"): lambda n, k: 1.0 / n,
    ("sigmoid", "binary_cross_entropy"): lambda n, k: 1.0 / (n * k),
    ("identity", "mse"): lambda n, k: 2.0 / (n * k),
}


def inplace_output_delta(
    activation: str, loss: str, A: np.ndarray, Y: np.ndarray, scratch: np.ndarray,
    w: np.ndarray | None = None,
) -> np.ndarray:
    """Turn the output activations into ``dL/dZ``.

    Parameters
    ----------
    activation, loss : str
        A legal pairing (see ``worker.spec.REQUIRED_ACTIVATION``).
    A : ndarray of shape (n_samples, n_outputs)
        Output activations; overwritten with ``dL/dZ`` for fused pairs, used as scratch otherwise.
    Y : ndarray of shape (n_samples, n_outputs)
        Targets.
    scratch : ndarray of shape (n_samples, n_outputs)
        Receives ``dL/dZ`` for non-fused pairs.
    w : ndarray of shape (n_samples,) or None
        Row weights (class weights): row ``i``'s ``1 / n`` becomes ``w_i / Σ w``.

    Returns
    -------
    dLdZ : ndarray of shape (n_samples, n_outputs)
        ``A`` or ``scratch``.
    """
    n, k = A.shape
    fused = FUSED_SCALES.get((activation, loss))
    scale = fused(n, k) if fused is not None else 2.0 / (n * k)
    # with row weights, each row's share 1/n of the mean becomes w_i / Σ w
    rows = None if w is None else (w * (scale * n / w.sum()))[:, None]
    if fused is not None:
        A -= Y
        A *= scale if rows is None else rows
        return A
    # general chain rule, mse: ∇_A L = 2 (A - Y) / (n k), then ⊙ σ'(Z)
    np.subtract(A, Y, out=scratch)
    scratch *= scale if rows is None else rows
    return DERIVATIVES[activation](A, scratch)
