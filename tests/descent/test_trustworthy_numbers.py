"""Numbers a user can trust, over real HTTP (issue 11, items 2-5): scaled regression targets,
float32 on large-offset inputs, near-constant columns, and the metrics of the shipped weights;
the weights file and the ONNX graph give /predict's numbers."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from sklearn.datasets import make_regression

from descent import Client

pytestmark = [pytest.mark.system, pytest.mark.slow]


def offset_regression() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's make_regression (10 features, noise 10), targets offset by 1e4."""
    X, y = make_regression(n_samples=1200, n_features=10, noise=10.0, random_state=0)
    return X, y + 1e4


def r2(y: np.ndarray, predicted: Any) -> float:
    residual = y - np.asarray(predicted, dtype=np.float64)
    return float(1 - np.sum(residual**2) / np.sum((y - y.mean()) ** 2))


def train(client: Client, dataset_id: str, **spec: Any) -> Any:
    job = client.wait(client.submit_job(dataset_id=dataset_id, **spec).id, timeout=300)
    assert job.status == "succeeded", job.error
    return job


@pytest.fixture(scope="module")
def regression_model(server: Any) -> tuple[str, np.ndarray, np.ndarray]:
    """A model trained with default settings on offset targets; the held-out rows."""
    X, y = offset_regression()
    with Client(server.url, server.api_key) as client:
        dataset = client.upload_dataset(X[:1000], y[:1000])
        job = train(client, dataset.id)
    return job.model_id, X[1000:], y[1000:]


def test_offset_targets_train_with_default_settings(
        client: Client, regression_model: tuple[str, np.ndarray, np.ndarray]) -> None:
    model_id, X, y = regression_model
    assert r2(y, client.predict(model_id, X).predictions) >= 0.95
    model = client.get_model(model_id)
    assert model.spec["training"]["standardize_targets"] is True
    # The loss is on scaled targets; mae and rmse are in the targets' units (noise 10).
    metrics = model.metrics
    assert metrics["val_loss"] < 0.2 and 5 < metrics["val_rmse"] < 60
    assert metrics["val_mae"] < metrics["val_rmse"] and metrics["val_r2"] >= 0.95


def test_weights_and_onnx_match_predict(
        client: Client, regression_model: tuple[str, np.ndarray, np.ndarray]) -> None:
    model_id, X, _ = regression_model
    answer = np.asarray(client.predict(model_id, X[:50]).predictions)
    arrays = dict(np.load(io.BytesIO(client.download_weights(model_id))))
    assert {"mean", "scale", "target_mean", "target_scale"} <= set(arrays)
    assert arrays["mean"].dtype == arrays["target_mean"].dtype == np.float64
    A = ((X[:50] - arrays["mean"]) / arrays["scale"]).astype(arrays["W0"].dtype)
    activations = [np.maximum, np.tanh, None]  # the default network: 64 relu, 32 tanh, identity
    for i, activation in enumerate(activations):
        A = A @ arrays[f"W{i}"] + arrays[f"b{i}"]
        A = np.maximum(A, 0) if activation is np.maximum else (np.tanh(A) if activation else A)
    by_hand = A.astype(np.float64) * arrays["target_scale"] + arrays["target_mean"]
    np.testing.assert_allclose(by_hand[:, 0], answer, rtol=1e-5, atol=1e-5)
    session = ort.InferenceSession(client.download_onnx(model_id),
                                   providers=["CPUExecutionProvider"])
    onnx_answer = session.run(["output"], {"input": X[:50]})[0]
    np.testing.assert_allclose(onnx_answer[:, 0], answer, rtol=1e-5, atol=1e-5)
    # A batch prediction scales back the same way.
    batch = client.wait(client.batch_predict(model_id, client.upload_dataset(X[:50]).id).id,
                        timeout=120)
    assert batch.status == "succeeded", batch.error
    stored = client.get_prediction(batch.prediction_id).predictions
    np.testing.assert_allclose(np.asarray(stored, dtype=np.float64), answer, rtol=1e-12)


def test_float32_keeps_a_timestamp_column(client: Client) -> None:
    """Seconds since the epoch (1.7e9 + s): float32 rounds them to steps of 128 unless they are
    centered in float64 first."""
    rng = np.random.default_rng(11)
    seconds = rng.uniform(0, 200, size=1500)
    X = np.column_stack([1.7e9 + seconds, rng.normal(size=1500)])
    y = (seconds > 100).astype(int)  # float32 rounds 64…192 to 128: 18% on the wrong side
    dataset = client.upload_dataset(X[:1200], y[:1200])
    accuracy = {}
    for dtype in ("float32", "float64"):
        job = train(client, dataset.id, training={"dtype": dtype, "epochs": 30})
        predicted = client.predict(job.model_id, X[1200:]).predictions
        accuracy[dtype] = float(np.mean(np.asarray(predicted) == y[1200:]))
    assert accuracy["float64"] > 0.95
    assert abs(accuracy["float32"] - accuracy["float64"]) <= 0.01, accuracy


def test_a_near_constant_column_does_not_flip_answers(client: Client) -> None:
    """A column of 0.1 with float noise (a few ulps) is constant: moved by 0.01 at predict
    time it changes no answer."""
    rng = np.random.default_rng(12)
    y = np.arange(600) % 3
    centers = np.array([[0, 0, 0], [4, 4, 0], [0, 4, 4]], dtype=float)
    noise = rng.integers(-2, 3, size=600) * np.spacing(0.1)
    X = np.column_stack([centers[y] + rng.normal(scale=0.5, size=(600, 3)), 0.1 + noise])
    assert X[:, 3].std() > 0
    dataset = client.upload_dataset(X[:500], y[:500])
    job = train(client, dataset.id, training={"epochs": 20})
    held_out = X[500:].copy()
    before = client.predict(job.model_id, held_out).predictions
    held_out[:, 3] = 0.11
    assert client.predict(job.model_id, held_out).predictions == before
    assert np.mean(np.asarray(before) == y[500:]) > 0.95


def test_model_metrics_are_the_best_epochs(client: Client) -> None:
    """With restore_best (the default) the weights are the best epoch's, and so are the
    metrics the job and the model report."""
    rng = np.random.default_rng(13)
    X = rng.normal(size=(300, 4))
    y = (X[:, 0] + 0.8 * rng.normal(size=300) > 0).astype(int)  # noisy: validation loss wobbles
    dataset = client.upload_dataset(X, y)
    training = {"epochs": 200, "optimizer": {"name": "adam", "learning_rate": 0.05},
                "early_stopping": {"patience": 4}}
    job = train(client, dataset.id, training=training)
    model = client.get_model(job.model_id)
    history = client.history(job.id)
    assert model.epochs_trained == len(history) and model.best_epoch is not None
    assert model.best_epoch < model.epochs_trained  # stopped after the best: it is not the last
    best = history[model.best_epoch - 1].to_dict()
    assert best["epoch"] == model.best_epoch
    assert best["val_loss"] == min(row.to_dict()["val_loss"] for row in history)
    expected = {k: v for k, v in best.items() if k not in ("epoch", "seconds")}
    assert model.metrics == expected and job.metrics == expected
    assert job.best_epoch == model.best_epoch
