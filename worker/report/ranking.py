"""ROC AUC from ranks (the Mann–Whitney U statistic), ties counted half, as sklearn's
trapezoidal ROC area."""

from __future__ import annotations

import numpy as np


def _midranks(s: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``s`` ``(n,)``, tied values sharing the mean of their ranks."""
    order = np.argsort(s, kind="mergesort")
    sorted_s = s[order]
    # Runs of equal values: each gets the mean of the ranks it spans, (first + last) / 2.
    starts = np.flatnonzero(np.r_[True, sorted_s[1:] != sorted_s[:-1]])
    ends = np.r_[starts[1:], s.size]
    mean_rank = (starts + 1 + ends) / 2.0
    ranks = np.empty(s.size, dtype=np.float64)
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def roc_auc(positive: np.ndarray, score: np.ndarray) -> float | None:
    """Area under the ROC curve of scores ``score`` ``(n,)`` for the boolean ``positive``
    ``(n,)``; None when only one of the two kinds is present.

    ``AUC = (Σ_{i positive} rank_i − n₊(n₊+1)/2) / (n₊ · n₋)`` with midranks for ties: the
    probability that a random positive scores above a random negative, ties counting ½ —
    exactly the trapezoidal area under sklearn's ROC curve.
    """
    positive = np.asarray(positive, dtype=bool)
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = _midranks(np.asarray(score, dtype=np.float64))
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def roc_auc_ovr(y: np.ndarray, P: np.ndarray) -> float | None:
    """One-vs-rest macro ROC AUC: the mean over classes ``c`` of ``roc_auc(y == c, P[:, c])``
    for ``y`` ``(n,)`` class indices and ``P`` ``(n, k)`` probabilities (sklearn's
    ``multi_class="ovr", average="macro"``). A class absent from ``y`` (or present in every
    row) has no AUC and is left out of the mean; None when no class has one."""
    aucs = [roc_auc(y == c, P[:, c]) for c in range(P.shape[1])]
    kept = [a for a in aucs if a is not None]
    return float(np.mean(kept)) if kept else None
