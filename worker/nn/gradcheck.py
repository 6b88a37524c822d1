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


def layer_gradcheck(net: Network, X: Any, Y: Any, rng: np.random.Generator, *,
                    per_layer: int, eps: float = 1e-6, masks: Any = None,
                    sample_weight: Any = None) -> list[dict[str, Any]]:
    """Per layer, the relative error of a sample of its gradients, in float64.

    For layer ``l`` (weights ``W_l`` ``(fan_in, fan_out)``, biases ``b_l`` ``(fan_out,)``) up to
    ``per_layer`` entries of ``W_l`` and up to ``per_layer`` of ``b_l`` are drawn from ``rng``
    (without replacement; all of them when fewer). For each of the two samples ``S`` the error
    is ``‖a_S - n_S‖ / max(‖a_S‖ + ‖n_S‖, 1e-300)`` (``a`` backprop, ``n`` central differences
    ``(L(p + eps) - L(p - eps)) / (2 eps)``, the same formula as `gradcheck`), and the layer's
    ``max_relative_error`` is the larger of the two. Costs ``2 × checked`` loss evaluations;
    ``net`` is not modified. Returns ``[{"layer": l (1-based), "checked": k,
    "max_relative_error": e}, …]``.
    """
    net64 = net.astype(np.float64)
    X64, Y64 = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    if masks is not None:
        masks = [None if m is None else np.asarray(m, np.float64) for m in masks]
    options = {"masks": masks, "sample_weight": sample_weight}
    _, analytic = net64.loss_and_grads(X64, Y64, **options)
    views = net64.params
    out = []
    for layer in range(len(net64.layers)):
        worst, checked = 0.0, 0
        for j in (2 * layer, 2 * layer + 1):
            flat, grad = views[j].reshape(-1), analytic[j].reshape(-1)
            picked = rng.choice(flat.size, size=min(per_layer, flat.size), replace=False)
            numeric = np.array([_central(net64, flat, i, eps, X64, Y64, options)
                                for i in picked])
            a = grad[picked]
            scale = max(float(np.linalg.norm(a) + np.linalg.norm(numeric)), 1e-300)
            worst = max(worst, float(np.linalg.norm(a - numeric)) / scale)
            checked += picked.size
        out.append({"layer": layer + 1, "checked": checked, "max_relative_error": worst})
    return out


def _central(net: Network, flat: np.ndarray, i: int, eps: float, X: np.ndarray, Y: np.ndarray,
             options: dict[str, Any]) -> float:
    """``(L(p_i + eps) - L(p_i - eps)) / (2 eps)`` for entry ``i`` of the view ``flat``."""
    original = flat[i]
    flat[i] = original + eps
    plus = net.loss(X, Y, **options)
    flat[i] = original - eps
    minus = net.loss(X, Y, **options)
    flat[i] = original
    return float((plus - minus) / (2.0 * eps))
