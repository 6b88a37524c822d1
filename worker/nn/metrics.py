"""Per-epoch metrics: the loss, plus accuracy (classification), Hamming accuracy (multilabel) or
MAE, RMSE and R² (regression).

Multilabel accuracy is Hamming accuracy: the fraction of the ``n k`` decisions ``A > 0.5`` (a
label is predicted above one half, as predict answers) that equal ``Y ≥ 0.5``, i.e.
``1 - hamming_loss`` (scikit-learn), not the fraction of rows with every label right.

Target units. When the network learns scaled targets (``(Y - mean) / scale`` per column), the
loss stays on the scaled values, the quantity the optimizer minimizes, while ``mae`` and
``rmse`` are reported in the targets' own units: both take ``target_scale`` ``(k,)`` and
multiply each column's errors by it. (R² is the same in either unit.)

Two ways to get them. ``evaluate`` makes a full pass with fixed weights (the validation part at
the end of each epoch; losses from logits, exact). ``RunningMetrics`` accumulates the training
part's metrics over the epoch from the outputs each batch computes anyway, as Keras and
scikit-learn report training loss: a second full forward pass over the training rows would cost
a third of the epoch's arithmetic again.
"""

from __future__ import annotations

import numpy as np

from .losses import LOSS_FUNCTIONS
from .network import Network


def accuracy(Y: np.ndarray, A: np.ndarray) -> float:
    """Fraction of rows classified right (see ``correct``)."""
    return correct(Y, A) / Y.shape[0]


def correct(Y: np.ndarray, A: np.ndarray) -> int:
    """Rows classified right: argmax match, or ``A ≥ 0.5`` vs ``Y ≥ 0.5`` for one output."""
    if Y.shape[1] == 1:
        return int(np.count_nonzero((A[:, 0] >= 0.5) == (Y[:, 0] >= 0.5)))
    return int(np.count_nonzero(A.argmax(axis=1) == Y.argmax(axis=1)))


def hamming_correct(Y: np.ndarray, A: np.ndarray) -> int:
    """Right 0/1 decisions over all ``n k`` entries: ``A > 0.5`` equals ``Y ≥ 0.5``."""
    return int(np.count_nonzero((A > 0.5) == (Y >= 0.5)))


def r2_from_sums(ss_res: np.ndarray, ss_tot: np.ndarray) -> float:
    """``1 - SS_res / SS_tot`` per output, averaged (scikit-learn's default).

    An output with constant targets scores 1 when predicted exactly and 0 otherwise, so the value
    is always finite.
    """
    safe = ss_tot > 0
    scores = np.where(safe, 1.0 - ss_res / np.where(safe, ss_tot, 1.0), (ss_res == 0) * 1.0)
    return float(scores.mean())


def total_sum_of_squares(Y: np.ndarray) -> np.ndarray:
    """``Σ_rows (Y - mean(Y))²`` per output column, in float64."""
    Y64 = Y.astype(np.float64)
    return np.sum((Y64 - Y64.mean(axis=0)) ** 2, axis=0)


def evaluate(net: Network, Xs: np.ndarray, Ys: np.ndarray, task: str,
             target_scale: np.ndarray | None = None,
             w: np.ndarray | None = None) -> dict[str, float]:
    """``{"loss", "accuracy"}`` or ``{"loss", "mae", "rmse", "r2"}`` for prepared inputs
    ``Xs`` (errors in target units, see the module docstring); the loss weighs rows by ``w``
    (class weights) when given."""
    Z, A = net.logits_and_outputs(Xs)
    with np.errstate(all="ignore"):
        metrics = {"loss": LOSS_FUNCTIONS[net.loss_name](Ys, Z, A, w)}
        if not np.isfinite(metrics["loss"]):
            return metrics
        if task == "classification":
            metrics["accuracy"] = accuracy(Ys, A)
        elif task == "multilabel":
            metrics["accuracy"] = hamming_correct(Ys, A) / Ys.size
        else:
            diff = A.astype(np.float64) - Ys
            Y64 = Ys.astype(np.float64)
            if target_scale is not None:
                diff, Y64 = diff * target_scale, Y64 * target_scale
            metrics["mae"] = float(np.mean(np.abs(diff)))
            metrics["rmse"] = float(np.sqrt(np.mean(diff**2)))
            metrics["r2"] = r2_from_sums(np.sum(diff**2, axis=0), total_sum_of_squares(Y64))
    return metrics


class RunningMetrics:
    """The training part's metrics accumulated batch by batch over one epoch.

    ``add(A, Y, w)`` takes a batch's output activations ``A`` and targets ``Y`` (both
    ``(m, n_outputs)``) before backpropagation, and its row weights ``w`` ``(m,)`` or None
    (class weights: the epoch's loss is then ``Σ w ℓ / Σ w`` over its rows); ``result()``
    gives the epoch's row and resets.
    Losses follow docs/api.md (means over the epoch's rows, or entries) computed from probabilities,
    so ``log`` is taken of ``max(p, tiny)``: a loss term is capped near 87 (float32) rather than
    becoming infinite when a probability underflows. NaN still propagates (divergence).
    """

    def __init__(self, loss: str, task: str, Y_train: np.ndarray,
                 target_scale: np.ndarray | None = None) -> None:
        self.loss, self.task, self.width = loss, task, Y_train.shape[1]
        self.tiny = float(np.finfo(Y_train.dtype).tiny)
        self.scale = None if target_scale is None else np.asarray(target_scale, np.float64)
        self.ss_tot = None
        if task == "regression":
            Y64 = Y_train.astype(np.float64)
            self.ss_tot = total_sum_of_squares(Y64 if self.scale is None else Y64 * self.scale)
        self._reset()

    def _reset(self) -> None:
        self.rows, self.loss_sum, self.correct, self.abs_sum = 0, 0.0, 0, 0.0
        self.weight_sum = 0.0
        self.ss_res: np.ndarray | float = 0.0

    def add(self, A: np.ndarray, Y: np.ndarray, w: np.ndarray | None = None) -> None:
        self.rows += A.shape[0]
        self.weight_sum += A.shape[0] if w is None else float(w.sum(dtype=np.float64))
        if self.loss == "cross_entropy":
            log_p = np.log(np.maximum(A, self.tiny))
            self.loss_sum -= float(np.vdot(Y, log_p)) if w is None else _row_dot(w, Y * log_p)
        elif self.loss == "binary_cross_entropy":
            log_p = np.log(np.maximum(A, self.tiny))
            log_q = np.log(np.maximum(1.0 - A, self.tiny))
            self.loss_sum -= (float(np.vdot(Y, log_p) + np.vdot(1.0 - Y, log_q)) if w is None
                              else _row_dot(w, Y * log_p + (1.0 - Y) * log_q))
        if self.task == "classification":
            self.correct += correct(Y, A)
        elif self.task == "multilabel":
            self.correct += hamming_correct(Y, A)
        if self.loss == "mse" or self.task == "regression":
            diff = A - Y
            if self.loss == "mse":
                self.loss_sum += float(np.vdot(diff, diff))
            if self.task == "regression":
                if self.scale is not None:
                    diff = diff * self.scale  # in target units (a float64 copy)
                self.abs_sum += float(np.abs(diff).sum(dtype=np.float64))
                self.ss_res = self.ss_res + np.square(diff).sum(axis=0, dtype=np.float64)

    def result(self) -> dict[str, float]:
        rows, k = self.rows, self.width
        total = self.weight_sum
        metrics = {"loss": self.loss_sum / (total if self.loss == "cross_entropy" else total * k)}
        if self.ss_tot is None:
            # Hamming accuracy (multilabel) counts every entry, accuracy every row
            metrics["accuracy"] = self.correct / (rows * (k if self.task == "multilabel" else 1))
        else:
            metrics["mae"] = self.abs_sum / (rows * k)
            metrics["rmse"] = float(np.sqrt(np.sum(self.ss_res) / (rows * k)))
            metrics["r2"] = r2_from_sums(np.asarray(self.ss_res), self.ss_tot)
        self._reset()
        return metrics


def _row_dot(w: np.ndarray, terms: np.ndarray) -> float:
    """``Σ_i w_i Σ_j terms_ij``: row weights times row sums."""
    return float(np.dot(w, terms.sum(axis=1)))
