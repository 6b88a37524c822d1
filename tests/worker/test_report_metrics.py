"""worker.report against sklearn.metrics on the same predictions, within 1e-9 (zero_division=0),
edge cases included: a class never predicted, a class absent from the targets, ties in AUC."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from worker.report import classification_report, multilabel_report, regression_report

TOL = 1e-9


def _probabilities(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    Z = rng.normal(size=(n, k))
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def _check_classification(y: np.ndarray, P: np.ndarray, classes: list) -> dict:
    k = len(classes)
    labels = list(range(k))
    report = classification_report(y, P, classes)
    y_pred = P.argmax(axis=1)
    assert report["accuracy"] == pytest.approx(skm.accuracy_score(y, y_pred), abs=TOL)
    with _quiet():
        balanced = skm.balanced_accuracy_score(y, y_pred)
    assert report["balanced_accuracy"] == pytest.approx(balanced, abs=TOL)
    p, r, f, s = skm.precision_recall_fscore_support(y, y_pred, labels=labels, zero_division=0)
    for c, row in enumerate(report["per_class"]):
        assert row["class"] == classes[c]
        assert (row["precision"], row["recall"], row["f1"]) == pytest.approx(
            (p[c], r[c], f[c]), abs=TOL)
        assert row["support"] == s[c]
    for avg in ("macro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(
            y, y_pred, labels=labels, average=avg, zero_division=0)
        got = report[f"{avg}_avg"]
        assert (got["precision"], got["recall"], got["f1"]) == pytest.approx((p, r, f), abs=TOL)
    assert report["confusion_matrix"] == skm.confusion_matrix(y, y_pred, labels=labels).tolist()
    assert report["log_loss"] == pytest.approx(skm.log_loss(y, P, labels=labels), abs=TOL)
    if k == 2:
        expected = skm.roc_auc_score(y == 1, P[:, 1])
    else:
        present = [c for c in labels if 0 < np.sum(y == c) < len(y)]
        expected = np.mean([skm.roc_auc_score(y == c, P[:, c]) for c in present])
        if len(present) == k:  # sklearn's own ovr macro agrees when every class is present
            assert expected == pytest.approx(skm.roc_auc_score(
                y, P, multi_class="ovr", average="macro", labels=labels), abs=TOL)
    assert report["roc_auc"] == pytest.approx(expected, abs=TOL)
    return report


class _quiet:
    def __enter__(self) -> None:
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc: object) -> None:
        self._w.__exit__(*exc)


def test_multiclass_report_equals_sklearn() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 300)
    _check_classification(y, _probabilities(rng, 300, 4), ["a", "b", "c", "d"])


def test_binary_report_equals_sklearn_auc_of_the_second_class() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    P = _probabilities(rng, 200, 2)
    report = _check_classification(y, P, ["no", "yes"])
    assert report["roc_auc"] == pytest.approx(skm.roc_auc_score(y, P[:, 1]), abs=TOL)


def test_a_class_never_predicted() -> None:
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 100)
    P = _probabilities(rng, 100, 3)
    P[:, 2] *= 0.01  # class 2 is never the argmax
    P /= P.sum(axis=1, keepdims=True)
    report = _check_classification(y, P, [0, 1, 2])
    assert report["per_class"][2]["precision"] == 0.0
    assert [row[2] for row in report["confusion_matrix"]] == [0, 0, 0]


def test_a_class_absent_from_the_dataset() -> None:
    rng = np.random.default_rng(3)
    y = rng.choice([0, 2], 120)  # class 1 is never true
    report = _check_classification(y, _probabilities(rng, 120, 3), ["x", "y", "z"])
    assert report["per_class"][1]["support"] == 0
    assert report["per_class"][1]["recall"] == 0.0


def test_ties_in_auc() -> None:
    y = np.array([0, 1, 0, 1, 1, 0, 1, 0, 1, 1])
    p1 = np.array([0.5, 0.5, 0.2, 0.8, 0.5, 0.8, 0.2, 0.5, 0.8, 0.5])
    P = np.column_stack([1 - p1, p1])
    _check_classification(y, P, [0, 1])
    rng = np.random.default_rng(4)
    P3 = np.round(_probabilities(rng, 200, 3), 1)  # many ties per column
    P3 /= P3.sum(axis=1, keepdims=True)
    _check_classification(rng.integers(0, 3, 200), P3, [0, 1, 2])


def test_single_class_present_has_no_auc() -> None:
    P = _probabilities(np.random.default_rng(5), 10, 2)
    assert classification_report(np.zeros(10, dtype=int), P, [0, 1])["roc_auc"] is None


def test_regression_report_equals_sklearn() -> None:
    rng = np.random.default_rng(6)
    Y = rng.normal(size=(150, 3)) * [1.0, 10.0, 1000.0]
    Y_hat = Y + rng.normal(size=Y.shape) * [0.5, 3.0, 100.0]
    report = regression_report(Y, Y_hat, ["a", "b", "c"])
    mae = skm.mean_absolute_error(Y, Y_hat, multioutput="raw_values")
    rmse = skm.root_mean_squared_error(Y, Y_hat, multioutput="raw_values")
    r2 = skm.r2_score(Y, Y_hat, multioutput="raw_values")
    for j, row in enumerate(report["targets"]):
        assert (row["mae"], row["rmse"], row["r2"]) == pytest.approx(
            (mae[j], rmse[j], r2[j]), rel=TOL, abs=TOL)
    assert report["mae"] == pytest.approx(skm.mean_absolute_error(Y, Y_hat), rel=TOL)
    assert report["rmse"] == pytest.approx(skm.root_mean_squared_error(Y, Y_hat), rel=TOL)
    assert report["r2"] == pytest.approx(skm.r2_score(Y, Y_hat), abs=TOL)


def test_regression_constant_target() -> None:
    Y = np.array([[2.0, 1.0], [2.0, 2.0], [2.0, 3.0]])
    for Y_hat in (Y.copy(), Y + 0.5):
        report = regression_report(Y, Y_hat)
        r2 = skm.r2_score(Y, Y_hat, multioutput="raw_values")
        assert [t["r2"] for t in report["targets"]] == pytest.approx(list(r2), abs=TOL)


def test_multilabel_report_equals_sklearn() -> None:
    rng = np.random.default_rng(7)
    Y = rng.integers(0, 2, (200, 4))
    Y[:, 3] = 0  # a label never true
    P = rng.uniform(size=(200, 4))
    P[:, 2] = 0.1  # a label never predicted
    report = multilabel_report(Y, P, ["a", "b", "c", "d"])
    P[:5, 0] = 0.5  # exactly 0.5 is not predicted (above 0.5 is), as predict answers
    report = multilabel_report(Y, P, ["a", "b", "c", "d"])
    Y_hat = (P > 0.5).astype(int)
    assert report["hamming_accuracy"] == pytest.approx(1 - skm.hamming_loss(Y, Y_hat), abs=TOL)
    assert report["subset_accuracy"] == pytest.approx(skm.accuracy_score(Y, Y_hat), abs=TOL)
    assert report["micro_f1"] == pytest.approx(
        skm.f1_score(Y, Y_hat, average="micro", zero_division=0), abs=TOL)
    assert report["macro_f1"] == pytest.approx(
        skm.f1_score(Y, Y_hat, average="macro", zero_division=0), abs=TOL)
    f1 = skm.f1_score(Y, Y_hat, average=None, zero_division=0)
    assert [row["f1"] for row in report["per_label"]] == pytest.approx(list(f1), abs=TOL)


def test_multilabel_targets_by_name_or_position() -> None:
    from types import SimpleNamespace

    from service.evaluation import EvaluationProblem, label_columns

    model = SimpleNamespace(classes=["b", "a"])
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    named = SimpleNamespace(id="ds_x", target_kind="values", target_names=["a", "b"])
    assert label_columns(model, named, y).tolist() == [[0.0, 1.0], [1.0, 0.0]]  # b, a
    only_a = SimpleNamespace(id="ds_z", target_kind="values", target_names=["a"])
    assert label_columns(model, only_a, y[:, :1]).tolist() == [[0.0, 1.0], [0.0, 0.0]]
    unnamed = SimpleNamespace(id="ds_y", target_kind="values", target_names=None)
    assert label_columns(model, unnamed, y).tolist() == y.tolist()
    with pytest.raises(EvaluationProblem, match="3 target columns"):
        label_columns(model, unnamed, np.zeros((2, 3)))
    with pytest.raises(EvaluationProblem, match="0 or 1"):
        label_columns(model, unnamed, np.array([[0.0, 2.0]]))
