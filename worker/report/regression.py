"""The regression report: targets ``Y`` and predictions ``Ŷ`` ``(n, t)``, in target units."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def regression_report(
    Y: np.ndarray, Y_pred: np.ndarray, names: Sequence[str] | None = None
) -> dict[str, Any]:
    """Per target ``j`` (columns of ``Y``, ``Ŷ`` ``(n, t)``; ``(n,)`` is one target):

    - ``MAE_j = (1/n) Σ_i |y_ij − ŷ_ij|``;
    - ``RMSE_j = √((1/n) Σ_i (y_ij − ŷ_ij)²)``;
    - ``R²_j = 1 − SS_res / SS_tot`` with ``SS_res = Σ_i (y_ij − ŷ_ij)²`` and
      ``SS_tot = Σ_i (y_ij − ȳ_j)²``; when ``SS_tot = 0``, 1 if ``SS_res = 0`` else 0
      (sklearn's ``force_finite``).

    The averages are the plain means of the per-target numbers (sklearn's
    ``multioutput="uniform_average"``; RMSE is the mean of the RMSEs).
    """
    Y = np.asarray(Y, dtype=np.float64)
    Y_pred = np.asarray(Y_pred, dtype=np.float64)
    Y = Y[:, None] if Y.ndim == 1 else Y
    Y_pred = Y_pred[:, None] if Y_pred.ndim == 1 else Y_pred
    err = Y - Y_pred
    mae = np.mean(np.abs(err), axis=0)
    rmse = np.sqrt(np.mean(err**2, axis=0))
    ss_res = np.sum(err**2, axis=0)
    ss_tot = np.sum((Y - Y.mean(axis=0)) ** 2, axis=0)
    r2 = np.where(ss_tot != 0, 1 - ss_res / np.where(ss_tot != 0, ss_tot, 1.0),
                  np.where(ss_res == 0, 1.0, 0.0))
    names = list(names) if names is not None else [f"y{j}" for j in range(Y.shape[1])]
    return {
        "task": "regression",
        "n_rows": int(Y.shape[0]),
        "targets": [
            {"name": name, "mae": float(mae[j]), "rmse": float(rmse[j]), "r2": float(r2[j])}
            for j, name in enumerate(names)
        ],
        "mae": float(np.mean(mae)),
        "rmse": float(np.mean(rmse)),
        "r2": float(np.mean(r2)),
    }
