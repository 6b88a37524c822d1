"""Spec defaults (docs/api.md "Jobs") and the errors for specs the engine cannot run."""

from __future__ import annotations

from typing import Any

import pytest

from worker.nn import Network, SpecError, fill_network_defaults, fill_training_defaults

API_TRAINING_EXAMPLE = {
    "epochs": 50, "batch_size": 32, "shuffle": True, "seed": 0, "dtype": "float32",
    "diagnostics": True,
    "optimizer": {"name": "adam", "learning_rate": 0.001, "beta1": 0.9, "beta2": 0.999,
                  "epsilon": 1e-8},
    "weight_decay": 0.0,
    "validation_split": 0.1,
    "standardize": True,
    "standardize_targets": True,  # docs/api.md: scaled regression targets
    "early_stopping": {"patience": 10, "min_delta": 0.0, "restore_best": True},
    "lr_schedule": None, "warmup_epochs": 0, "clip_grad_norm": None, "class_weight": None,
    "init_from_model": None,
}


def test_training_defaults_are_api_example() -> None:
    assert fill_training_defaults({}) == API_TRAINING_EXAMPLE
    assert fill_training_defaults(None) == API_TRAINING_EXAMPLE
    assert fill_training_defaults(API_TRAINING_EXAMPLE) == API_TRAINING_EXAMPLE


@pytest.mark.parametrize(("name", "expected"), [
    ("sgd", {"learning_rate": 0.01}),
    ("momentum", {"learning_rate": 0.01, "beta": 0.9}),
    ("rmsprop", {"learning_rate": 0.001, "beta": 0.9, "epsilon": 1e-8}),
    ("adam", {"learning_rate": 0.001, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}),
])
def test_optimizer_defaults(name: str, expected: dict[str, float]) -> None:
    assert fill_training_defaults({"optimizer": {"name": name}})["optimizer"] == {
        "name": name, **expected}


def test_partial_objects_are_completed() -> None:
    filled = fill_training_defaults({"early_stopping": {"patience": 3},
                                     "optimizer": {"learning_rate": 0.1}})
    assert filled["early_stopping"] == {"patience": 3, "min_delta": 0.0, "restore_best": True}
    assert filled["optimizer"]["name"] == "adam"
    assert filled["optimizer"]["learning_rate"] == 0.1
    off = fill_training_defaults({"early_stopping": None, "validation_split": None})
    assert off["early_stopping"] is None and off["validation_split"] is None


def test_network_defaults_by_task() -> None:
    # One default network, the engine's and the service's (API.md's example).
    assert fill_network_defaults({}, "classification") == {
        "hidden_layers": [{"units": 64, "activation": "relu", "dropout": 0.0},
                          {"units": 32, "activation": "tanh", "dropout": 0.0}],
        "output_activation": "softmax", "loss": "cross_entropy", "init": "auto"}
    regression = fill_network_defaults({"hidden_layers": [{"units": 3}]}, "regression")
    assert regression == {"hidden_layers": [{"units": 3, "activation": "relu", "dropout": 0.0}],
                          "output_activation": "identity", "loss": "mse", "init": "auto"}
    assert fill_network_defaults({"loss": "binary_cross_entropy"})["output_activation"] == "sigmoid"
    assert fill_network_defaults({"output_activation": "softmax"})["loss"] == "cross_entropy"
    assert fill_network_defaults({"output_activation": "tanh"})["loss"] == "mse"


@pytest.mark.parametrize("output", ["identity", "sigmoid", "tanh", "relu", "softmax"])
def test_any_output_pairs_with_mse(output: str) -> None:
    assert fill_network_defaults({"output_activation": output, "loss": "mse"})["loss"] == "mse"


@pytest.mark.parametrize(("network", "message"), [
    ({"hidden_layers": [{"units": 4}, {"units": 4, "activation": "relux"}], "loss": "mse"},
     "network.hidden_layers[1].activation: unknown activation 'relux'; expected one of "
     "identity, sigmoid, tanh, relu, leaky_relu, elu"),
    ({"hidden_layers": [{"units": 0}], "loss": "mse"},
     "network.hidden_layers[0].units: must be at least 1, got 0"),
    ({"hidden_layers": [{"units": True}], "loss": "mse"}, "network.hidden_layers[0].units"),
    ({"hidden_layers": [{"units": "8"}], "loss": "mse"}, "expected an integer"),
    ({"hidden_layers": [{"activation": "relu"}], "loss": "mse"}, "units: required"),
    ({"hidden_layers": [{"units": 2, "activation": "softmax"}], "loss": "mse"},
     "softmax is only allowed as network.output_activation"),
    ({"output_activation": "sigmoid", "loss": "cross_entropy"},
     "network.loss: cross_entropy needs output_activation softmax, got sigmoid"),
    ({"output_activation": "softmax", "loss": "binary_cross_entropy"},
     "binary_cross_entropy needs output_activation sigmoid"),
    ({"output_activation": "softmax", "loss": "hinge"}, "network.loss: unknown loss 'hinge'"),
    ({"output_activation": "swish", "loss": "mse"}, "network.output_activation: unknown"),
    ({"loss": "mse", "init": "xavier"}, "network.init: unknown init 'xavier'"),
    ({"loss": "mse", "hiden_layers": []}, "network: unknown field 'hiden_layers'"),
    ({}, "network.loss: required when the task is unknown"),
])
def test_network_errors_name_the_field(network: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError) as error:
        Network.from_spec(network, 3, 2)
    assert message in str(error.value)
    assert isinstance(error.value, ValueError)


@pytest.mark.parametrize(("training", "message"), [
    ({"optimizer": {"name": "adagrad"}}, "training.optimizer.name: unknown optimizer 'adagrad'"),
    ({"optimizer": {"name": "sgd", "learning_rate": 0}}, "training.optimizer.learning_rate"),
    ({"optimizer": {"name": "sgd", "beta1": 0.9}}, "training.optimizer.beta1: not a parameter"),
    ({"optimizer": {"name": "adam", "beta2": 1.0}}, "training.optimizer.beta2: must be"),
    ({"epochs": 0}, "training.epochs: must be at least 1"),
    ({"batch_size": 2.5}, "training.batch_size: expected an integer"),
    ({"validation_split": 1.0}, "training.validation_split: must be"),
    ({"weight_decay": -1}, "training.weight_decay"),
    ({"weight_decay": float("nan")}, "training.weight_decay: expected a finite number"),
    ({"shuffle": "yes"}, "training.shuffle: expected true or false"),
    ({"dtype": "float16"}, "training.dtype: unknown dtype 'float16'"),
    ({"early_stopping": {"patience": -1}}, "training.early_stopping.patience"),
    ({"early_stopping": {"patiense": 3}}, "training.early_stopping: unknown field 'patiense'"),
    ({"epoch": 3}, "training: unknown field 'epoch'"),
])
def test_training_errors_name_the_field(training: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=message.replace("[", r"\[").replace(".", r"\.")):
        fill_training_defaults(training)


def test_softmax_needs_two_outputs() -> None:
    with pytest.raises(SpecError, match="softmax needs at least 2 outputs"):
        Network.from_spec({}, 3, 1, task="classification")


def test_from_spec_shapes_and_init() -> None:
    spec = {"hidden_layers": [{"units": 50, "activation": "relu"},
                              {"units": 40, "activation": "tanh"}]}
    net = Network.from_spec(spec, 30, 3, task="classification", seed=1)
    shapes = [p.shape for p in net.params]
    assert shapes == [(30, 50), (50,), (50, 40), (40,), (40, 3), (3,)]
    assert all(p.dtype == "float32" and p.flags.c_contiguous for p in net.params)
    assert all(not b.any() for b in net.params[1::2])
    W0, W1 = net.params[0], net.params[2]
    assert W0.std() == pytest.approx((2 / 30) ** 0.5, rel=0.1)  # He for relu
    assert abs(W1).max() <= (6 / 90) ** 0.5  # Glorot uniform for tanh
    again = Network.from_spec(spec, 30, 3, task="classification", seed=1)
    other = Network.from_spec(spec, 30, 3, task="classification", seed=2)
    assert all((a == b).all() for a, b in zip(net.params, again.params, strict=True))
    assert not (net.params[0] == other.params[0]).all()
