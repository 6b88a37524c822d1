"""Multi-label classification over real HTTP (issue 12, item 5): a dataset with several 0/1
target columns (records) or a label set per row (features form), a job with task multilabel,
Hamming accuracy in the history, label sets and per-label probabilities from /predict and batch
predictions, and 422s naming the field for targets a multilabel task cannot read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from descent import Client, DescentAPIError
from descent.cli.models import predictions_csv
from descent.types import Model

pytestmark = [pytest.mark.system, pytest.mark.slow]
LABELS = ["a", "b", "c"]
QUICK = {"epochs": 30, "batch_size": 16, "seed": 3}


def _data(rows: int = 240) -> tuple[np.ndarray, np.ndarray]:
    """Three labels, each a half-space of the inputs: a row may have none, some or all."""
    X = np.random.default_rng(12).normal(size=(rows, 3))
    Y = np.stack([X[:, 0] > 0, X[:, 1] > 0, X[:, 0] + X[:, 2] > 0.5], axis=1).astype(int)
    return X, Y


def _records(X: np.ndarray, Y: np.ndarray) -> list[dict[str, Any]]:
    return [{"x0": x[0], "x1": x[1], "x2": x[2], **dict(zip(LABELS, map(int, y), strict=True))}
            for x, y in zip(X.tolist(), Y, strict=True)]


def _sets(Y: np.ndarray) -> list[list[str]]:
    return [[label for label, on in zip(LABELS, row, strict=True) if on] for row in Y]


def _train(client: Client, dataset_id: str, **fields: Any) -> Any:
    job = client.wait(client.submit_job(dataset_id=dataset_id, task="multilabel",
                                        training=QUICK, **fields).id, timeout=240)
    assert job.status == "succeeded", job.error
    return job


def test_label_sets_train_and_predict_sets_with_probabilities(client: Client) -> None:
    X, Y = _data()
    dataset = client.upload_dataset(X, _sets(Y))  # features form: targets are label sets
    assert dataset.target_kind == "values" and dataset.n_targets == 3
    assert dataset.target_names == LABELS
    job = _train(client, dataset.id)
    assert job.spec["network"]["output_activation"] == "sigmoid"
    assert job.spec["network"]["loss"] == "binary_cross_entropy"
    history = client.history(job.id)
    # Hamming accuracy: a multiple of 1 / (rows · 3) — 3 decisions per row, not 1
    n_val = int(240 * 0.1)
    val_accuracy = history[-1].metrics["val_accuracy"]
    assert abs(val_accuracy * n_val * 3 - round(val_accuracy * n_val * 3)) < 1e-9
    assert val_accuracy > 0.85, [h.metrics for h in history]
    assert "accuracy" in history[-1].metrics
    model = client.get_model(job.model_id)
    assert model.task == "multilabel" and model.classes == LABELS and model.n_targets == 3
    answer = client.predict(job.model_id, X[:20])
    for chosen, probabilities in zip(answer.predictions, answer.probabilities or [], strict=True):
        assert set(probabilities) == set(LABELS)
        assert chosen == [c for c in LABELS if probabilities[c] > 0.5]
    hamming = np.mean([[c in chosen for c in LABELS] == row
                       for chosen, row in zip(answer.predictions, Y[:20].astype(bool).tolist(),
                                              strict=True)])
    assert hamming > 0.5  # most rows' sets exactly right


def test_target_columns_train_as_multilabel_and_batch_predict(client: Client) -> None:
    X, Y = _data()
    dataset = client.upload_dataset(_records(X, Y), target=LABELS)  # records: 3 0/1 columns
    assert dataset.n_targets == 3 and "multilabel" in (dataset.hint or "")
    job = _train(client, dataset.id)
    assert client.get_model(job.model_id).classes == LABELS
    online = client.predict(job.model_id, X[:5])
    unlabeled = client.upload_dataset(X[:5])
    batch = client.wait(client.batch_predict(job.model_id, unlabeled.id).id, timeout=240)
    assert batch.status == "succeeded", batch.error
    stored = client.get_prediction(batch.prediction_id)
    assert stored.predictions == online.predictions
    for got, want in zip(stored.probabilities or [], online.probabilities or [], strict=True):
        assert got.keys() == want.keys()
        assert all(abs(got[c] - want[c]) < 1e-12 for c in LABELS)


def _refusal(client: Client, **fields: Any) -> dict[str, Any]:
    with pytest.raises(DescentAPIError) as caught:
        client.submit_job(task="multilabel", **fields)
    error = caught.value
    assert error.status == 422
    return {"errors": error.errors, "detail": error.detail}


def test_targets_multilabel_cannot_read_are_422_at_task(client: Client) -> None:
    X, Y = _data(rows=60)
    not_binary = client.upload_dataset(X, (Y * 2.5).tolist())  # 3 columns of 0 / 2.5
    body = _refusal(client, dataset_id=not_binary.id)
    assert body["errors"][0]["loc"] == ["body", "task"], body
    assert "not all 0 or 1" in body["errors"][0]["msg"]
    single = client.upload_dataset(X, Y[:, :1].astype(float).tolist())
    body = _refusal(client, dataset_id=single.id)
    assert body["errors"][0]["loc"] == ["body", "task"] and "1 target column" in body["detail"]
    one_label = client.upload_dataset(X, ["yes" if y else "no" for y in Y[:, 0]])
    body = _refusal(client, dataset_id=one_label.id)
    assert body["errors"][0]["loc"] == ["body", "task"]


def test_class_weights_and_softmax_are_422_for_multilabel(client: Client) -> None:
    X, Y = _data(rows=60)
    dataset = client.upload_dataset(X, _sets(Y))
    body = _refusal(client, dataset_id=dataset.id, training={"class_weight": "balanced"})
    assert body["errors"][0]["loc"] == ["body", "training", "class_weight"], body
    body = _refusal(client, dataset_id=dataset.id, network={"output_activation": "softmax"})
    assert ["body", "network", "output_activation"] in [e["loc"] for e in body["errors"]]


def test_label_sets_refused_with_the_field(client: Client) -> None:
    X, _ = _data(rows=3)
    with pytest.raises(DescentAPIError) as caught:
        client.upload_dataset(X, [["a"], ["b", 7], []])
    assert caught.value.status == 422
    assert caught.value.errors[0]["loc"] == ["body", "targets", 1, 1]


def test_npz_y_of_0_1_columns_trains_as_multilabel(client: Client, tmp_path: Path) -> None:
    X, Y = _data(rows=120)
    path = tmp_path / "tags.npz"
    np.savez(path, X=X, y=Y.astype(np.int64))  # (n, 3) of 0/1: stored as 3 value columns
    dataset = client.upload_dataset(path)
    assert dataset.target_kind == "values" and dataset.n_targets == 3
    job = client.wait(client.submit_job(dataset_id=dataset.id, task="multilabel",
                                        training={"epochs": 3}).id, timeout=240)
    assert job.status == "succeeded", job.error
    assert client.get_model(job.model_id).classes == ["0", "1", "2"]  # unnamed columns


def test_descent_predict_prints_label_sets() -> None:
    model = Model.from_dict({"id": "mdl_x", "task": "multilabel", "classes": LABELS})
    text = predictions_csv(model, [["a", "c"], []],
                           [{"a": 0.9, "b": 0.1, "c": 0.6}, {"a": 0.2, "b": 0.3, "c": 0.4}])
    assert text.splitlines() == ["labels,p_a,p_b,p_c", "a;c,0.9,0.1,0.6", ",0.2,0.3,0.4"]
