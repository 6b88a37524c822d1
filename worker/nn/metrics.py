"""Per-epoch metrics: the loss, plus accuracy (classification) or MAE and R² (regression)."""

from __future__ import annotations

import numpy as np

from .losses import LOSS_FUNCTIONS
from .network import Network


def accuracy(Y: np.ndarray, A: np.ndarray) -> float:
    """Fraction of rows classified right: argmax match, or ``A ≥ 0.5`` for a single output."""
    if Y.shape[1] == 1:
        return float(np.mean((A[:, 0] >= 0.5) == (Y[:, 0] >= 0.5)))
    return float(np.mean(A.argmax(axis=1) == Y.argmax(axis=1)))


def mean_absolute_error(Y: np.ndarray, A: np.ndarray) -> float:
    """Mean over all entries of ``|A - Y|``."""
    return float(np.mean(np.abs(A.astype(np.float64) - Y)))


def r2_score(Y: np.ndarray, A: np.ndarray) -> float:
    """``1 - SS_res / SS_tot`` per output, averaged over outputs (scikit-learn's default).

    An output with constant targets scores 1 when predicted exactly and 0 otherwise, so the value
    is always finite.
    """
    Y64 = Y.astype(np.float64)
    ss_res = np.sum((Y64 - A) ** 2, axis=0)
    ss_tot = np.sum((Y64 - Y64.mean(axis=0)) ** 2, axis=0)
    safe = ss_tot > 0
    scores = np.where(safe, 1.0 - ss_res / np.where(safe, ss_tot, 1.0), (ss_res == 0) * 1.0)
    return float(scores.mean())


def evaluate(net: Network, Xs: np.ndarray, Ys: np.ndarray, task: str) -> dict[str, float]:
    """``{"loss", "accuracy"}`` or ``{"loss", "mae", "r2"}`` for prepared inputs ``Xs``."""
    Z, A = net.logits_and_outputs(Xs)
    with np.errstate(all="ignore"):
        metrics = {"loss": LOSS_FUNCTIONS[net.loss_name](Ys, Z, A)}
        if not np.isfinite(metrics["loss"]):
            return metrics
        if task == "classification":
            metrics["accuracy"] = accuracy(Ys, A)
        else:
            metrics["mae"] = mean_absolute_error(Ys, A)
            metrics["r2"] = r2_score(Ys, A)
    return metrics
