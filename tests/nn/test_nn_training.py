"""The training loop: determinism, resume bit for bit, early stopping, divergence, metrics."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from worker.nn import DataError, DivergedError, Network, SpecError, TrainingState, train
from worker.nn.metrics import evaluate

HIDDEN = {"hidden_layers": [{"units": 16, "activation": "relu"},
                            {"units": 8, "activation": "tanh"}]}


def blobs(rows: int = 150, features: int = 5, classes: int = 3, seed: int = 0) -> Any:
    """Separable-ish Gaussian blobs with one-hot targets, features on uneven scales."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, rows)
    centers = rng.normal(0, 2.0, (classes, features))
    X = (centers[labels] + rng.standard_normal((rows, features))) * np.arange(1, features + 1)
    return X + 10.0, np.eye(classes)[labels]


def classifier(dtype: str = "float32", seed: int = 0) -> Network:
    return Network.from_spec(HIDDEN, 5, 3, seed=seed, dtype=dtype, task="classification")


def run(training: dict[str, Any], state: TrainingState | None = None,
        dtype: str = "float32") -> tuple[Network, list[dict[str, Any]], list[bytes]]:
    X, Y = blobs()
    net = classifier(dtype)
    states: list[bytes] = []
    history = train(net, X, Y, training, state=state,
                    on_epoch=lambda epoch, metrics, s: states.append(s.to_bytes()))
    return net, history, states


def same_params(a: Network, b: Network) -> bool:
    return all(np.array_equal(p, q) for p, q in zip(a.params, b.params, strict=True))


def without_seconds(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in history]


def test_learns_and_reports_classification_metrics() -> None:
    net, history, _ = run({"epochs": 15, "batch_size": 16, "optimizer": {"learning_rate": 0.01}})
    assert [row["epoch"] for row in history] == list(range(1, 16))
    assert set(history[0]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy",
                               "learning_rate", "seconds", "diagnostics"}
    assert history[-1]["loss"] < history[0]["loss"]
    assert history[-1]["accuracy"] > 0.8


def test_same_seed_same_weights() -> None:
    training = {"epochs": 4, "batch_size": 10}
    assert same_params(run(training)[0], run(training)[0])
    other = run({**training, "seed": 1})[0]
    assert not same_params(run(training)[0], other)


@pytest.mark.parametrize("training", [
    {"epochs": 6, "batch_size": 16, "optimizer": {"name": "adam", "learning_rate": 0.01}},
    {"epochs": 6, "batch_size": 7, "optimizer": {"name": "momentum"}, "weight_decay": 0.01,
     "validation_split": None, "early_stopping": None},
    {"epochs": 6, "batch_size": 200, "optimizer": {"name": "rmsprop"}, "shuffle": False,
     "standardize": False},
    {"epochs": 6, "optimizer": {"name": "sgd"}, "validation_split": 0.3,
     "early_stopping": {"patience": 100, "restore_best": True}},
], ids=["adam", "momentum-decay-noval", "rmsprop-noshuffle", "sgd-restore"])
def test_resume_from_any_epoch_is_bit_identical(training: dict[str, Any]) -> None:
    full, history, states = run(training)
    assert len(states) == 6
    for k in (1, 3, 6):
        state = TrainingState.from_bytes(states[k - 1])
        assert state.epoch == k
        resumed, resumed_history, _ = run(training, state=state)
        assert same_params(full, resumed), f"resumed after epoch {k}"
        assert without_seconds(resumed_history) == without_seconds(history)


def test_resume_with_early_stopping_that_triggers() -> None:
    # random labels on few rows: validation loss soon rises, so early stopping ends the run
    rng = np.random.default_rng(3)
    X, Y = rng.standard_normal((60, 5)), np.eye(3)[rng.integers(0, 3, 60)]
    training = {"epochs": 60, "batch_size": 8, "validation_split": 0.25,
                "optimizer": {"learning_rate": 0.03},
                "early_stopping": {"patience": 3, "min_delta": 0.0, "restore_best": True}}
    states: list[TrainingState] = []
    net = classifier()
    history = train(net, X, Y, training, on_epoch=lambda e, m, s: states.append(s))
    assert len(history) < 60, "early stopping should have ended the run"
    best = min(history, key=lambda row: row["val_loss"])
    assert states[-1].best_epoch == best["epoch"] and states[-1].bad_epochs == 3
    np.testing.assert_array_equal(net.params[0], states[best["epoch"] - 1].params[0])
    for k in (1, len(states) // 2, len(states)):
        resumed = classifier(seed=99)
        state = TrainingState.from_bytes(states[k - 1].to_bytes())
        again = train(resumed, X, Y, training, state=state)
        assert same_params(net, resumed), f"resumed after epoch {k}"
        assert len(again) == len(history)


def test_restore_best_off_keeps_last_weights() -> None:
    rng = np.random.default_rng(3)
    X, Y = rng.standard_normal((60, 5)), np.eye(3)[rng.integers(0, 3, 60)]
    states: list[TrainingState] = []
    net = classifier()
    train(net, X, Y, {"epochs": 40, "optimizer": {"learning_rate": 0.03},
                      "early_stopping": {"patience": 2, "restore_best": False}},
          on_epoch=lambda e, m, s: states.append(s))
    np.testing.assert_array_equal(net.params[0], states[-1].params[0])
    assert states[-1].best_params is None


def test_float32_and_float64_agree() -> None:
    training = {"epochs": 5, "batch_size": 16, "optimizer": {"name": "sgd", "learning_rate": 0.05}}
    net32, history32, _ = run(training, dtype="float32")
    net64, history64, _ = run({**training, "dtype": "float64"}, dtype="float64")
    assert net64.params[0].dtype == np.float64 and net32.params[0].dtype == np.float32
    for p32, p64 in zip(net32.params, net64.params, strict=True):
        np.testing.assert_allclose(p32, p64, rtol=1e-3, atol=1e-4)
    assert history32[-1]["loss"] == pytest.approx(history64[-1]["loss"], rel=1e-4)


def test_divergence_names_the_epoch() -> None:
    X, Y = blobs()
    net = Network.from_spec(HIDDEN, 5, 3, task="regression")
    with pytest.raises(DivergedError, match="training diverged at epoch 1: loss is") as error:
        train(net, X * 1e3, Y, {"optimizer": {"name": "sgd", "learning_rate": 1e12},
                                "standardize": False})
    assert error.value.epoch == 1


def test_should_stop_ends_gracefully() -> None:
    X, Y = blobs()
    calls = []

    def should_stop() -> bool:
        calls.append(1)
        return len(calls) > 12  # 5 batches per epoch: stops inside epoch 3

    history = train(classifier(), X, Y, {"epochs": 10, "batch_size": 27},
                    should_stop=should_stop)
    assert [row["epoch"] for row in history] == [1, 2]


def test_regression_metrics_and_standardization() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(50.0, 10.0, (200, 3))
    X[:, 2] = 7.0  # a constant column gets scale 1
    Y = np.stack([X[:, 0] * 0.1 - 5.0, np.sin(X[:, 1] / 10)], axis=1)
    net = Network.from_spec({"hidden_layers": [{"units": 16, "activation": "tanh"}]}, 3, 2,
                            task="regression", dtype="float64")
    history = train(net, X, Y, {"epochs": 30, "batch_size": 16,
                                "optimizer": {"learning_rate": 0.01}})
    assert set(history[0]) == {"epoch", "loss", "mae", "rmse", "r2", "val_loss", "val_mae",
                               "val_rmse", "val_r2", "learning_rate", "seconds", "diagnostics"}
    assert history[-1]["r2"] > 0.5
    assert net.standardization is not None
    mean, scale = net.standardization
    assert scale[2] == 1.0 and mean[2] == 7.0
    raw = net.forward(X[:5])
    net.standardization = None
    np.testing.assert_allclose(net.forward((X[:5] - mean) / scale), raw)


def test_standardize_off_clears_standardization() -> None:
    X, Y = blobs()
    net = classifier()
    net.standardization = (np.zeros(5), np.ones(5))
    train(net, X, Y, {"epochs": 1, "standardize": False})
    assert net.standardization is None


def test_bad_inputs() -> None:
    X, Y = blobs()
    X[4, 2] = np.nan
    with pytest.raises(DataError, match="X: row 4, column 2 is NaN or infinite"):
        train(classifier(), X, Y, {"epochs": 1})
    with pytest.raises(DataError, match=r"Y: expected shape \(150, 3\)"):
        train(classifier(), blobs()[0], Y[:, :2], {"epochs": 1})
    with pytest.raises(SpecError, match="training.dtype: float64 does not match"):
        train(classifier(), *blobs(), {"dtype": "float64"})


def test_weights_file_round_trip(tmp_path: Any) -> None:
    X, Y = blobs()
    net = classifier()
    train(net, X, Y, {"epochs": 2})
    path = tmp_path / "weights.npz"
    np.savez(path, **net.to_arrays())
    with np.load(path) as arrays:
        assert sorted(arrays.files) == ["W0", "W1", "W2", "b0", "b1", "b2", "mean", "scale"]
        loaded = Network.from_arrays(net.spec, arrays)
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded.forward(X), net.forward(X))


def test_state_bytes_round_trip_and_refuse_garbage() -> None:
    _, _, states = run({"epochs": 2})
    state = TrainingState.from_bytes(states[-1])
    assert state.to_bytes() == TrainingState.from_bytes(state.to_bytes()).to_bytes()
    assert state.optimizer == "adam" and set(state.moments) == {"M", "V"}
    assert state.step == 2 * 5 and state.epoch == 2
    with pytest.raises(ValueError, match="not a training state"):
        TrainingState.from_bytes(b"definitely not an npz")


def test_params_setter_copies() -> None:
    net = classifier()
    new = [np.full(p.shape, 0.5) for p in net.params]
    net.params = new
    new[0][...] = 9.0
    assert net.params[0].dtype == np.float32 and (net.params[0] == 0.5).all()
    with pytest.raises(ValueError, match=r"params\[0\]: expected shape"):
        net.params = [np.zeros((2, 2))] + new[1:]


@pytest.mark.parametrize(("output", "loss", "task", "outputs"), [
    ("softmax", "cross_entropy", "classification", 3),
    ("sigmoid", "binary_cross_entropy", "classification", 3),
    ("sigmoid", "binary_cross_entropy", "classification", 1),
    ("sigmoid", "mse", "classification", 3),
    ("identity", "mse", "regression", 2),
    ("tanh", "mse", "regression", 1),
])
def test_running_metrics_match_a_full_pass(output: str, loss: str, task: str,
                                           outputs: int) -> None:
    """With a vanishing learning rate the weights stay put, so the metrics accumulated over the
    epoch's batches must equal a full pass (which is how validation metrics are computed)."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((90, 4))
    Y = (np.eye(outputs)[rng.integers(0, outputs, 90)] if outputs > 1 and task == "classification"
         else rng.uniform(0, 1, (90, outputs)).round() if task == "classification"
         else rng.standard_normal((90, outputs)))
    net = Network.from_spec({"hidden_layers": [{"units": 6, "activation": "tanh"}],
                             "output_activation": output, "loss": loss}, 4, outputs,
                            dtype="float64")
    before = [p.copy() for p in net.params]
    history = train(net, X, Y, {"epochs": 1, "batch_size": 16, "dtype": "float64",
                                "optimizer": {"name": "sgd", "learning_rate": 1e-300},
                                "validation_split": None, "standardize": False}, task=task)
    for a, b in zip(before, net.params, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-250)
    full = evaluate(net, net.prepare_inputs(X), Y, task)
    row = history[0]
    assert set(full) | {"epoch", "learning_rate", "seconds", "diagnostics"} == set(row)
    for key, value in full.items():
        assert row[key] == pytest.approx(value, rel=1e-12), key
