"""Evaluation reports: the metrics of a model's predictions against known targets, pure NumPy.

Every number equals ``sklearn.metrics`` on the same predictions (``zero_division=0``; tests
compare within 1e-9). One function per task returns a JSON-ready dict (docs/api.md, "Evaluation
reports"):

- `classification_report` — accuracy, balanced accuracy, per-class precision / recall / F1 /
  support, macro and weighted averages, the confusion matrix, log loss and ROC AUC;
- `regression_report` — MAE, RMSE and R² per target and averaged over targets;
- `multilabel_report` — Hamming accuracy, subset accuracy, micro and macro F1.
"""

from worker.report.classification import (
    balanced_accuracy,
    classification_report,
    confusion_matrix,
    log_loss,
    per_class,
)
from worker.report.multilabel import multilabel_report
from worker.report.ranking import roc_auc, roc_auc_ovr
from worker.report.regression import regression_report

__all__ = [
    "balanced_accuracy",
    "classification_report",
    "confusion_matrix",
    "log_loss",
    "multilabel_report",
    "per_class",
    "regression_report",
    "roc_auc",
    "roc_auc_ovr",
]
