"""``network.initial_weights`` in the engine: the network starts from exactly the given
parameters (biases included, cast to its dtype), and a value or shape that cannot be used is a
``SpecError`` naming the layer's field."""

from __future__ import annotations

import numpy as np
import pytest

from worker.nn import Network
from worker.spec import SpecError

NETWORK = {"hidden_layers": [{"units": 2, "activation": "sigmoid"}],
           "output_activation": "sigmoid", "loss": "mse"}
WEIGHTS = [{"W": [[0.15, 0.25], [0.20, 0.30]], "b": [0.35, 0.35]},
           {"W": [[0.40], [0.45]], "b": [0.60]}]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_network_starts_from_the_given_parameters(dtype: str) -> None:
    net = Network.from_spec({**NETWORK, "initial_weights": WEIGHTS}, 2, 1, seed=7, dtype=dtype)
    arrays = net.to_arrays()
    for i, layer in enumerate(WEIGHTS):
        np.testing.assert_array_equal(arrays[f"W{i}"], np.asarray(layer["W"], dtype))
        np.testing.assert_array_equal(arrays[f"b{i}"], np.asarray(layer["b"], dtype))
    assert arrays["W0"].dtype == np.dtype(dtype)
    # the seed's random init is not what it holds
    random = Network.from_spec(NETWORK, 2, 1, seed=7, dtype=dtype).to_arrays()
    assert not np.array_equal(random["W0"], arrays["W0"])


def test_the_classic_forward_pass_from_the_given_weights() -> None:
    net = Network.from_spec({**NETWORK, "initial_weights": WEIGHTS}, 2, 1, dtype="float64")
    assert net.loss([[0.05, 0.10]], [[0.01]]) == pytest.approx(0.5496221664, abs=1e-10)


@pytest.mark.parametrize(("weights", "inputs", "where", "words"), [
    (WEIGHTS, 3, "network.initial_weights[0].W", "(fan_in, fan_out) = (3, 2)"),
    ([WEIGHTS[0]], 2, "network.initial_weights", "1 layers given; the network has 2"),
    ([WEIGHTS[0], {"W": [[0.4], [0.45]], "b": [0.6, 0.1]}], 2,
     "network.initial_weights[1].b", "fan_out = 1"),
    ([WEIGHTS[0], {"W": [[0.4], [float("nan")]], "b": [0.6]}], 2,
     "network.initial_weights[1].W[1][0]", "finite number"),
    ([WEIGHTS[0], {"W": [[0.4], [0.45]]}], 2, "network.initial_weights[1].b", "required"),
    ([WEIGHTS[0], {"W": [[0.4], [0.45]], "b": [0.6], "c": 1}], 2,
     "network.initial_weights[1]", "unknown field 'c'"),
    ([WEIGHTS[0], {"W": [[0.4, 0.1], [0.45]], "b": [0.6]}], 2,
     "network.initial_weights[1].W", "rows of different lengths"),
    ([], 2, "network.initial_weights", "one per layer"),
])
def test_unusable_weights_name_their_field(weights: list, inputs: int, where: str,
                                           words: str) -> None:
    with pytest.raises(SpecError) as raised:
        Network.from_spec({**NETWORK, "initial_weights": weights}, inputs, 1)
    assert str(raised.value).startswith(f"{where}: ") and words in str(raised.value)
