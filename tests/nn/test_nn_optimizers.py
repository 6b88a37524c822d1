"""Each optimizer's update against its docs/api.md formula, written out here (float64)."""

from __future__ import annotations

import numpy as np
import pytest

from worker.nn.defaults import fill_training_defaults
from worker.nn.optimizers import CHUNK, make_optimizer

N_WEIGHTS = 7  # the first N_WEIGHTS entries are weights (decayed), the rest biases


def reference(name: str, hyper: dict[str, float], W: np.ndarray, grads: list[np.ndarray],
              weight_decay: float) -> np.ndarray:
    """docs/api.md "Optimizer updates", literally."""
    W = W.copy()
    lr = hyper["learning_rate"]
    M = np.zeros_like(W)
    V = np.zeros_like(W)
    for t, dLdW in enumerate(grads, start=1):
        decay = np.zeros_like(W)
        decay[:N_WEIGHTS] = weight_decay * W[:N_WEIGHTS]
        g = dLdW + decay
        if name == "sgd":
            W -= lr * g
        elif name == "momentum":
            V = hyper["beta"] * V + (1 - hyper["beta"]) * g
            W -= lr * V
        elif name == "rmsprop":
            V = hyper["beta"] * V + (1 - hyper["beta"]) * g**2
            W -= lr * g / (np.sqrt(V) + hyper["epsilon"])
        else:
            b1, b2 = hyper["beta1"], hyper["beta2"]
            M = b1 * M + (1 - b1) * g
            V = b2 * V + (1 - b2) * g**2
            M_hat = M / (1 - b1**t)
            V_hat = V / (1 - b2**t)
            W -= lr * M_hat / (np.sqrt(V_hat) + hyper["epsilon"])
    return W


@pytest.mark.parametrize("size", [11, 2 * CHUNK + 5])  # one chunk, and several
@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
@pytest.mark.parametrize("name", ["sgd", "momentum", "rmsprop", "adam"])
def test_update_matches_formula(name: str, weight_decay: float, size: int) -> None:
    spec = fill_training_defaults({"optimizer": {"name": name, "learning_rate": 0.03}})
    hyper = {k: v for k, v in spec["optimizer"].items() if k != "name"}
    rng = np.random.default_rng(0)
    W0 = rng.standard_normal(size)
    grads = [rng.standard_normal(size) for _ in range(4)]
    params, flat_grads = W0.copy(), np.zeros(size)
    optimizer = make_optimizer(spec["optimizer"], params, flat_grads, N_WEIGHTS, weight_decay)
    for g in grads:
        flat_grads[...] = g
        optimizer.step()
    expected = reference(name, hyper, W0, grads, weight_decay)
    np.testing.assert_allclose(params, expected, rtol=1e-12, atol=1e-14)
    assert optimizer.step_count == 4


def test_weight_decay_spares_biases() -> None:
    spec = fill_training_defaults({"optimizer": {"name": "sgd", "learning_rate": 0.5}})
    params, grads = np.ones(10), np.zeros(10)
    make_optimizer(spec["optimizer"], params, grads, N_WEIGHTS, weight_decay=0.1).step()
    np.testing.assert_allclose(params[:N_WEIGHTS], 1 - 0.5 * 0.1)
    np.testing.assert_array_equal(params[N_WEIGHTS:], 1.0)


def test_float32_updates_stay_float32() -> None:
    spec = fill_training_defaults({})
    params, grads = np.ones(10, np.float32), np.full(10, 0.5, np.float32)
    optimizer = make_optimizer(spec["optimizer"], params, grads, N_WEIGHTS)
    optimizer.step()
    assert params.dtype == np.float32
    assert all(m.dtype == np.float32 for m in optimizer.moments.values())
    np.testing.assert_allclose(params, 1 - 0.001, rtol=1e-6)
