"""Why a run diverged, as far as the job can see: the hint a ``DIVERGED`` job's error carries.

A pure function of what the network was trained on and how. Three causes are visible without
re-running anything:

* **large regression targets** — with ``mse`` the loss grows with ``|y|²`` and its gradient with
  ``|y|``: targets whose largest column ``max(|mean|, std)`` is at least ``LARGE`` (as the
  network saw them, after any scaling) overflow or bounce at learning rates fit for unit data;
* **large, unstandardized inputs** — the same for the first layer's gradient, ``∝ |x|``;
* **a high learning rate** — at least ``HIGH_RATE_FACTOR`` times the optimizer's default.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from worker.nn import DivergedError

# A column whose max(|mean|, std) reaches this is "large" for a network initialised for unit data.
LARGE = 100.0
# A learning rate this many times the optimizer's default is "high".
HIGH_RATE_FACTOR = 10.0
DEFAULT_RATES = {"sgd": 0.01, "momentum": 0.01, "rmsprop": 0.001, "adam": 0.001}


class Diverged(DivergedError):
    """A `DivergedError` whose message names the likely causes (see `explain`)."""

    def __init__(self, epoch: int, message: str) -> None:
        self.epoch = epoch
        ArithmeticError.__init__(self, message)


def _magnitude(A: np.ndarray) -> tuple[float, float, float, int]:
    """``(size, mean, std, column)`` of the column of ``A`` (n, k) with the largest
    ``size = max(|mean|, std)``, computed in float64."""
    A = np.asarray(A, dtype=np.float64)
    A = A.reshape(A.shape[0], -1) if A.ndim != 2 else A
    with np.errstate(all="ignore"):
        mean, std = np.nanmean(A, axis=0), np.nanstd(A, axis=0)
    size = np.nan_to_num(np.maximum(np.abs(mean), std), nan=0.0, posinf=np.inf)
    if not size.size:
        return 0.0, 0.0, 0.0, 0
    j = int(np.argmax(size))
    return float(size[j]), float(mean[j]), float(std[j]), j


def likely_causes(
    *, task: str, X: np.ndarray, Y: np.ndarray, optimizer: Mapping[str, Any], standardized: bool,
) -> list[str]:
    """The causes of a divergence visible in the training data ``X`` (n, d) and targets ``Y``
    (n, k) as the network saw them, and in the filled ``training.optimizer`` object; each a
    sentence naming what to change. Empty when none is visible."""
    causes = []
    if task == "regression" and len(Y):
        size, mean, std, j = _magnitude(Y)
        if size >= LARGE:
            column = f" (column {j})" if np.ndim(Y) == 2 and Y.shape[1] > 1 else ""
            causes.append(
                f"the regression targets{column} are large and unscaled (mean {mean:.4g}, std "
                f"{std:.4g}; the loss grows with their square): set "
                f"training.standardize_targets to true, or "
                f"divide them by about {size:.2g} before uploading"
            )
    if not standardized and len(X):
        size, mean, std, j = _magnitude(X)
        if size >= LARGE:
            causes.append(
                f"the inputs are large and not standardized (feature {j}: mean {mean:.4g}, "
                f"std {std:.4g}): set training.standardize to true"
            )
    name, rate = str(optimizer.get("name")), optimizer.get("learning_rate")
    default = DEFAULT_RATES.get(name)
    if default is not None and rate is not None and float(rate) >= HIGH_RATE_FACTOR * default:
        causes.append(
            f"the learning rate {float(rate):g} is high for {name} (its default is {default:g}):"
            f" lower it"
        )
    return causes


def explain(message: str, causes: list[str]) -> str:
    """The engine's divergence ``message`` with the likely causes, or as it is when none is
    visible (its own advice — lower the learning rate — stands)."""
    if not causes:
        return message
    head = message.split(";", 1)[0]
    return f"{head}. Likely cause{'s' if len(causes) > 1 else ''}: " + "; ".join(causes) + "."
