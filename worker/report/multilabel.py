"""The multi-label report: ``Y`` ``(n, L)`` 0/1 true label sets and ``P`` ``(n, L)`` per-label
probabilities; label ``l`` is predicted for row ``i`` when ``P[i, l] > 0.5`` (as predict)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from worker.report.classification import _ratio


def multilabel_report(
    Y: np.ndarray, P: np.ndarray, labels: Sequence[Any], *, threshold: float = 0.5
) -> dict[str, Any]:
    """With ``Ŷ = [P > threshold]`` and, per label ``l``, ``tp_l = Σ_i Y_il Ŷ_il``,
    ``fp_l = Σ_i (1 − Y_il) Ŷ_il``, ``fn_l = Σ_i Y_il (1 − Ŷ_il)``:

    - Hamming accuracy ``(1/(n·L)) Σ_il [Y_il = Ŷ_il]`` (1 − sklearn's ``hamming_loss``);
    - subset accuracy ``(1/n) Σ_i [Y_i = Ŷ_i]`` (every label right; ``accuracy_score``);
    - micro F1 ``2·Σ tp / (2·Σ tp + Σ fp + Σ fn)``;
    - macro F1 the mean over labels of ``F1_l = 2·tp_l / (2·tp_l + fp_l + fn_l)``;
    - per label: precision ``tp/(tp+fp)``, recall ``tp/(tp+fn)``, F1, support ``Σ_i Y_il``;

    every ratio 0 when its denominator is 0 (``zero_division=0``).
    """
    Y = np.asarray(Y).astype(bool)
    Y_hat = np.asarray(P, dtype=np.float64) > threshold
    tp = (Y & Y_hat).sum(axis=0).astype(np.float64)
    fp = (~Y & Y_hat).sum(axis=0).astype(np.float64)
    fn = (Y & ~Y_hat).sum(axis=0).astype(np.float64)
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    micro = _ratio(2 * tp.sum(), 2 * tp.sum() + fp.sum() + fn.sum())
    return {
        "task": "multilabel",
        "n_rows": int(Y.shape[0]),
        "labels": list(labels),
        "hamming_accuracy": float(np.mean(Y == Y_hat)),
        "subset_accuracy": float(np.mean(np.all(Y == Y_hat, axis=1))),
        "micro_f1": float(micro),
        "macro_f1": float(np.mean(f1)),
        "per_label": [
            {"label": label, "precision": float(precision[j]), "recall": float(recall[j]),
             "f1": float(f1[j]), "support": int(Y[:, j].sum())}
            for j, label in enumerate(labels)
        ],
    }
