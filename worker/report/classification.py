"""The classification report: ``y`` ``(n,)`` true class indices and ``P`` ``(n, k)`` predicted
probabilities, columns in the model's class order; the predicted class is ``argmax_j P[i, j]``
(the first of equal maxima, as predict answers)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from worker.report.ranking import roc_auc, roc_auc_ovr


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` elementwise, 0 where ``den`` is 0 (sklearn's ``zero_division=0``)."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den != 0)


def confusion_matrix(y: np.ndarray, y_pred: np.ndarray, k: int) -> np.ndarray:
    """``C`` ``(k, k)`` int64: ``C[i, j]`` = the number of rows of true class ``i`` predicted
    ``j`` (rows true, columns predicted)."""
    return np.bincount(np.asarray(y) * k + np.asarray(y_pred), minlength=k * k).reshape(k, k)


def per_class(C: np.ndarray) -> dict[str, np.ndarray]:
    """Per class ``c`` from the confusion matrix ``C``, each ``(k,)``:

    - ``tp_c = C[c, c]``, ``fp_c = Σ_i C[i, c] − tp_c``, ``fn_c = Σ_j C[c, j] − tp_c``;
    - precision ``tp / (tp + fp)``, recall ``tp / (tp + fn)``, F1 ``2·tp / (2·tp + fp + fn)``
      (the harmonic mean of the two), each 0 when its denominator is 0;
    - support ``Σ_j C[c, j]``, the rows of true class ``c``.
    """
    tp = np.diag(C).astype(np.float64)
    predicted = C.sum(axis=0)
    support = C.sum(axis=1)
    return {
        "precision": _ratio(tp, predicted),
        "recall": _ratio(tp, support),
        "f1": _ratio(2 * tp, predicted + support),
        "support": support,
    }


def balanced_accuracy(C: np.ndarray) -> float:
    """The mean recall over the classes present (support > 0); a class never true has no
    recall and is left out, as sklearn's ``balanced_accuracy_score``."""
    support = C.sum(axis=1)
    present = support > 0
    return float(np.mean(np.diag(C)[present] / support[present]))


def log_loss(y: np.ndarray, P: np.ndarray) -> float:
    """``−(1/n) Σ_i log(clip(P[i, y_i], ε, 1 − ε))``, ``ε`` float64's machine epsilon
    (``sklearn.metrics.log_loss`` with ``labels`` the model's classes)."""
    eps = np.finfo(np.float64).eps
    p = np.clip(np.asarray(P, dtype=np.float64)[np.arange(len(y)), y], eps, 1 - eps)
    return float(-np.mean(np.log(p)))


def _averages(stats: dict[str, np.ndarray]) -> tuple[dict[str, float], dict[str, float]]:
    """Macro: the plain mean over all the model's classes (absent ones count as 0). Weighted:
    ``Σ_c support_c · m_c / Σ_c support_c``."""
    support = stats["support"].astype(np.float64)
    total = support.sum()
    macro = {m: float(np.mean(stats[m])) for m in ("precision", "recall", "f1")}
    weighted = {m: float(stats[m] @ support / total) if total else 0.0
                for m in ("precision", "recall", "f1")}
    return macro, weighted


def classification_report(
    y: np.ndarray, P: np.ndarray, classes: Sequence[Any]
) -> dict[str, Any]:
    """The report of probabilities ``P`` ``(n, k)`` against true class indices ``y`` ``(n,)``.

    ``accuracy = (1/n) Σ_i [ŷ_i = y_i]``; ROC AUC: binary (k = 2), of the second class's
    probability ``P[:, 1]`` with class 1 positive; multiclass, one-vs-rest macro
    (`roc_auc_ovr`); null when undefined (a single class present).
    """
    y = np.asarray(y, dtype=np.int64)
    P = np.asarray(P, dtype=np.float64)
    k = len(classes)
    y_pred = np.argmax(P, axis=1)
    C = confusion_matrix(y, y_pred, k)
    stats = per_class(C)
    macro, weighted = _averages(stats)
    auc = roc_auc(y == 1, P[:, 1]) if k == 2 else roc_auc_ovr(y, P)
    return {
        "task": "classification",
        "n_rows": int(y.size),
        "classes": list(classes),
        "accuracy": float(np.mean(y_pred == y)),
        "balanced_accuracy": balanced_accuracy(C),
        "log_loss": log_loss(y, P),
        "roc_auc": auc,
        "per_class": [
            {"class": label, "precision": float(stats["precision"][c]),
             "recall": float(stats["recall"][c]), "f1": float(stats["f1"][c]),
             "support": int(stats["support"][c])}
            for c, label in enumerate(classes)
        ],
        "macro_avg": macro,
        "weighted_avg": weighted,
        "confusion_matrix": C.tolist(),
    }
