"""Analytic gradients against central differences (float64), activations and losses against
their definitions (docs/api.md "Losses")."""

from __future__ import annotations

import numpy as np
import pytest

from worker.nn import Network, gradcheck, layer_gradcheck
from worker.nn.activations import ACTIVATIONS, DERIVATIVES, HIDDEN_ACTIVATIONS

N_INPUTS, N_OUTPUTS, ROWS = 4, 3, 7
OUTPUT_PAIRS = [
    ("identity", "mse"),
    ("sigmoid", "mse"),
    ("tanh", "mse"),
    ("relu", "mse"),
    ("softmax", "mse"),
    ("softmax", "cross_entropy"),
    ("sigmoid", "binary_cross_entropy"),
]


def _targets(rng: np.random.Generator, loss: str, output: str) -> np.ndarray:
    if loss == "cross_entropy":
        return np.eye(N_OUTPUTS)[rng.integers(0, N_OUTPUTS, ROWS)]
    if loss == "binary_cross_entropy" or output in ("sigmoid", "softmax"):
        return rng.uniform(0.0, 1.0, (ROWS, N_OUTPUTS))
    return rng.standard_normal((ROWS, N_OUTPUTS))


def _network(hidden: list[str], output: str, loss: str, seed: int = 3) -> Network:
    spec = {
        "hidden_layers": [{"units": 5, "activation": a} for a in hidden],
        "output_activation": output,
        "loss": loss,
    }
    net = Network.from_spec(spec, N_INPUTS, N_OUTPUTS, seed=seed, dtype="float64")
    rng = np.random.default_rng(seed)
    for b in net.params[1::2]:  # non-zero biases exercise the bias gradients
        b[...] = rng.normal(0.0, 0.3, b.shape)
    return net


def _check(net: Network, loss: str, output: str) -> float:
    rng = np.random.default_rng(11)
    X = rng.standard_normal((ROWS, N_INPUTS))
    return gradcheck(net, X, _targets(rng, loss, output))


@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_every_hidden_activation(activation: str, depth: int) -> None:
    net = _network([activation] * depth, "softmax", "cross_entropy")
    assert _check(net, "cross_entropy", "softmax") < 1e-7


@pytest.mark.parametrize("depth", [0, 1, 2, 3])
@pytest.mark.parametrize(("output", "loss"), OUTPUT_PAIRS)
def test_every_output_pairing(output: str, loss: str, depth: int) -> None:
    net = _network(["tanh", "elu", "sigmoid"][:depth], output, loss)
    assert _check(net, loss, output) < 1e-7


def test_mixed_stack_with_standardization() -> None:
    net = _network(["leaky_relu", "relu", "identity"], "sigmoid", "mse")
    net.standardization = (np.arange(N_INPUTS) * 0.1, np.arange(1, N_INPUTS + 1) * 0.5)
    assert _check(net, "mse", "sigmoid") < 1e-7


def test_gradcheck_catches_a_wrong_derivative(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(DERIVATIVES, "tanh", DERIVATIVES["sigmoid"])
    net = _network(["tanh"], "softmax", "cross_entropy")
    assert _check(net, "cross_entropy", "softmax") > 1e-2


def test_gradcheck_leaves_the_network_alone() -> None:
    net = _network(["relu"], "softmax", "cross_entropy")
    before = [p.copy() for p in net.params]
    _check(net, "cross_entropy", "softmax")
    assert all(np.array_equal(a, b) for a, b in zip(before, net.params, strict=True))


def test_activation_definitions() -> None:
    z = np.linspace(-30.0, 30.0, 241).reshape(-1, 1)
    expected = {
        "identity": z,
        "sigmoid": 1.0 / (1.0 + np.exp(-z)),
        "tanh": np.tanh(z),
        "relu": np.where(z > 0, z, 0.0),
        "leaky_relu": np.where(z > 0, z, 0.01 * z),
        "elu": np.where(z > 0, z, np.exp(z) - 1.0),
    }
    for name, value in expected.items():
        np.testing.assert_allclose(ACTIVATIONS[name](z.copy()), value, rtol=1e-12, atol=1e-15)
    rows = np.array([[1.0, 2.0, 3.0], [1000.0, 0.0, -1000.0]])
    soft = ACTIVATIONS["softmax"](rows.copy())
    np.testing.assert_allclose(soft[0], np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum())
    np.testing.assert_allclose(soft[1], [1.0, 0.0, 0.0])


def test_extreme_logits_stay_finite() -> None:
    with np.errstate(all="raise"):
        assert np.all(np.isfinite(ACTIVATIONS["sigmoid"](np.array([[-1e4, 1e4]]))))
        assert np.all(np.isfinite(ACTIVATIONS["elu"](np.array([[-1e4, 1e4]]))))


@pytest.mark.parametrize(("output", "loss"), OUTPUT_PAIRS)
def test_losses_match_api_definitions(output: str, loss: str) -> None:
    net = _network(["tanh"], output, loss)
    rng = np.random.default_rng(5)
    X = rng.standard_normal((ROWS, N_INPUTS))
    Y = _targets(rng, loss, output)
    p = net.forward(X)
    if loss == "mse":
        expected = np.mean((p - Y) ** 2)
    elif loss == "cross_entropy":
        expected = np.mean(-np.sum(Y * np.log(p), axis=1))
    else:
        expected = np.mean(-(Y * np.log(p) + (1 - Y) * np.log(1 - p)))
    assert net.loss(X, Y) == pytest.approx(expected, rel=1e-12)
    assert net.loss_and_grads(X, Y)[0] == pytest.approx(expected, rel=1e-12)


def test_cross_entropy_is_stable_for_confident_wrong_answers() -> None:
    net = _network([], "softmax", "cross_entropy")
    net.params[0][...] = 0.0
    net.params[1][...] = [800.0, 0.0, -800.0]
    X, Y = np.zeros((1, N_INPUTS)), np.array([[0.0, 0.0, 1.0]])
    assert net.loss(X, Y) == pytest.approx(1600.0)
    bce = _network([], "sigmoid", "binary_cross_entropy")
    bce.params[0][...] = 0.0
    bce.params[1][...] = [800.0, -800.0, 0.0]
    assert bce.loss(X, np.array([[0.0, 1.0, 1.0]])) == pytest.approx((1600 + np.log(2)) / 3)


def test_layer_gradcheck_samples_each_layer_and_names_the_wrong_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    net = _network(["tanh", "relu"], "softmax", "cross_entropy")
    rng = np.random.default_rng(11)
    X, Y = rng.standard_normal((ROWS, N_INPUTS)), np.eye(N_OUTPUTS)[rng.integers(0, 3, ROWS)]
    before = net.flat_params.copy()
    layers = layer_gradcheck(net, X, Y, np.random.default_rng(0), per_layer=3)
    assert [(e["layer"], e["checked"]) for e in layers] == [(1, 6), (2, 6), (3, 6)]
    assert max(e["max_relative_error"] for e in layers) < 1e-7
    np.testing.assert_array_equal(net.flat_params, before)
    monkeypatch.setitem(DERIVATIVES, "tanh", DERIVATIVES["sigmoid"])
    layers = layer_gradcheck(net, X, Y, np.random.default_rng(0), per_layer=3)
    assert [e["max_relative_error"] > 1e-2 for e in layers] == [True, False, False]
