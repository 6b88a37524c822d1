"""Per-layer diagnostics (``worker.nn.diagnostics``): the values equal ones computed here
independently, and the warnings name vanishing gradients and dead ReLUs when, and only when,
the network shows them."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import datasets

from worker.nn import Network, train


def digits(n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    X, y = datasets.load_digits(return_X_y=True)
    X = (X[:n] / 16.0).astype(np.float64)
    return X, np.eye(10)[y[:n]]


def layers(units: list[int], activation: str) -> dict:
    return {"hidden_layers": [{"units": u, "activation": activation} for u in units],
            "loss": "cross_entropy"}


def test_diagnostics_equal_independent_values() -> None:
    X, Y = digits(100)
    net = Network.from_spec(layers([16, 12], "relu"), 64, 10, seed=1, dtype="float64")
    start = [p.copy() for p in net.params]
    # One full batch, no shuffle, plain SGD: the epoch's gradient is loss_and_grads at start.
    training = {"epochs": 1, "batch_size": 100, "shuffle": False, "validation_split": None,
                "standardize": False, "dtype": "float64", "early_stopping": None,
                "optimizer": {"name": "sgd", "learning_rate": 0.05}}
    probe = Network.from_spec(layers([16, 12], "relu"), 64, 10, seed=1, dtype="float64")
    _, grads = probe.loss_and_grads(X, Y)
    row = train(net, X, Y, training)[0]["diagnostics"]
    hidden = [np.maximum(X @ net.params[0] + net.params[1], 0)]
    hidden.append(np.maximum(hidden[0] @ net.params[2] + net.params[3], 0))
    for i, layer in enumerate(row["layers"]):
        W, W0 = net.params[2 * i], start[2 * i]
        assert layer["grad_norm"] == pytest.approx(np.linalg.norm(grads[2 * i]), rel=1e-9)
        assert layer["weight_norm"] == pytest.approx(np.linalg.norm(W), rel=1e-9)
        assert layer["update_ratio"] == pytest.approx(
            np.linalg.norm(W - W0) / np.linalg.norm(W), rel=1e-6)
        if i < 2:
            assert layer["dead"] == pytest.approx(np.mean((hidden[i] == 0).all(axis=0)))
            assert layer["saturated"] is None
    assert row["layers"][2]["dead"] is None
    assert row["warnings"] == []


def test_saturation_and_grad_norm_mean_over_batches() -> None:
    X, Y = digits(64)
    net = Network.from_spec(layers([8], "sigmoid"), 64, 10, seed=2, dtype="float64")
    net.params[0][...] *= 30.0  # push pre-activations far out
    halves = [net.loss_and_grads(X[:32], Y[:32])[1][0], None]
    training = {"epochs": 1, "batch_size": 32, "shuffle": False, "validation_split": None,
                "standardize": False, "dtype": "float64", "early_stopping": None,
                "optimizer": {"name": "sgd", "learning_rate": 1e-12}}
    halves[1] = net.loss_and_grads(X[32:], Y[32:])[1][0]  # lr ~0: the weights stay
    row = train(net, X, Y, training)[0]["diagnostics"]["layers"][0]
    assert row["grad_norm"] == pytest.approx(np.mean([np.linalg.norm(g) for g in halves]))
    Z = X[32:] @ net.params[0] + net.params[1]
    assert row["saturated"] == pytest.approx(np.mean((np.abs(Z) > 4).mean(axis=0) >= 0.99))
    assert row["update_ratio"] < 1e-9


def warnings_of(spec: dict, *, epochs: int = 3, prepare=None) -> list[str]:
    X, Y = digits()
    net = Network.from_spec(spec, 64, 10, seed=0)
    if prepare is not None:
        prepare(net)
    history = train(net, X, Y, {"epochs": epochs, "validation_split": None,
                                "early_stopping": None})
    return history[-1]["diagnostics"]["warnings"]


def test_deep_sigmoid_network_gets_the_vanishing_gradient_warning() -> None:
    found = warnings_of(layers([32] * 8, "sigmoid"))
    assert any(w.startswith("vanishing gradients in layer 1") for w in found), found


def test_well_initialized_relu_network_gets_no_warning() -> None:
    assert warnings_of(layers([64, 32], "relu")) == []


def test_large_negative_bias_gets_the_dead_relu_warning() -> None:
    def negative_bias(net: Network) -> None:
        net.params[1][...] = -20.0  # the first hidden layer's biases

    found = warnings_of(layers([64, 32], "relu"), prepare=negative_bias)
    assert any(w.startswith("dead ReLUs in layer 1") for w in found), found


def test_diagnostics_off() -> None:
    X, Y = digits(50)
    net = Network.from_spec(layers([8], "relu"), 64, 10)
    row = train(net, X, Y, {"epochs": 1, "diagnostics": False})[0]
    assert "diagnostics" not in row
