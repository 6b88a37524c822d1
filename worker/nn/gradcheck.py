"""Finite-difference gradient check of ``Network.loss_and_grads``."""

from __future__ import annotations

from typing import Any

import numpy as np

from .network import Network


def gradcheck(net: Network, X: Any, Y: Any, eps: float = 1e-6, *, masks: Any = None,
              sample_weight: Any = None) -> float:
    """Largest relative error between analytic and central-difference gradients, in float64.

    For each parameter array ``p`` (``W0, b0, …``) the error is
    ``‖g_analytic - g_numeric‖ / max(‖g_analytic‖ + ‖g_numeric‖, 1e-300)`` with
    ``g_numeric_i = (L(p_i + eps) - L(p_i - eps)) / (2 eps)``; the maximum over arrays is
    returned. ``net`` itself is not modified (a float64 copy is perturbed). ``masks`` (fixed
    dropout masks, one per hidden layer or None) and ``sample_weight`` (row weights ``(n,)``)
    are passed to the loss and its gradients alike.
    """
    net64 = net.astype(np.float64)
    X64, Y64 = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    if masks is not None:
        masks = [None if m is None else np.asarray(m, np.float64) for m in masks]
    options = {"masks": masks, "sample_weight": sample_weight}
    _, analytic = net64.loss_and_grads(X64, Y64, **options)
    flat = net64.flat_params
    numeric_flat = np.empty_like(flat)
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + eps
        plus = net64.loss(X64, Y64, **options)
        flat[i] = original - eps
        minus = net64.loss(X64, Y64, **options)
        flat[i] = original
        numeric_flat[i] = (plus - minus) / (2.0 * eps)
    worst = 0.0
    for a, n in zip(analytic, net64.unflatten(numeric_flat), strict=True):
        scale = max(float(np.linalg.norm(a) + np.linalg.norm(n)), 1e-300)
        worst = max(worst, float(np.linalg.norm(a - n)) / scale)
    return worst
