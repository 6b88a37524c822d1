"""service.specs: the job body's models, defaults, checks against the dataset, limits, estimate."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from service import tables
from service.errors import InvalidInput
from service.settings import Settings
from service.specs import (
    JobSubmit,
    count_parameters,
    estimate,
    output_units,
    request_sha256,
    resolve_spec,
    trained_as,
)

API_EXAMPLE_SPEC = {
    "dataset_id": "ds_1",
    "task": "classification",
    "network": {
        "hidden_layers": [{"units": 64, "activation": "relu", "dropout": 0.0},
                          {"units": 32, "activation": "tanh", "dropout": 0.0}],
        "output_activation": "softmax",
        "loss": "cross_entropy",
        "init": "auto",
    },
    "training": {
        "epochs": 50,
        "batch_size": 32,
        "shuffle": True,
        "seed": 0,
        "dtype": "float32",
        "optimizer": {
            "name": "adam",
            "learning_rate": 0.001,
            "beta1": 0.9,
            "beta2": 0.999,
            "epsilon": 1e-8,
        },
        "weight_decay": 0.0,
        "validation_split": 0.1,
        "standardize": True,
        "standardize_targets": True,
        "early_stopping": {"patience": 10, "min_delta": 0.0, "restore_best": True},
        "lr_schedule": None, "warmup_epochs": 0, "clip_grad_norm": None, "class_weight": None,
        "diagnostics": True, "init_from_model": None,
    },
    "preprocessing": {
        "numeric_imputation": "mean",
        "fill_value": 0.0,
        "categorical_imputation": "most_frequent",
        "missing_indicators": True,
        "unknown": "ignore",
        "max_categories": None,
    },
    "max_attempts": 3,
    "priority": 0,
}


def labels_dataset(classes: list[Any] | None = None, n_rows: int = 100) -> tables.Dataset:
    return tables.Dataset(
        id="ds_1",
        n_rows=n_rows,
        n_features=64,
        n_targets=1,
        target_kind="labels",
        classes=classes or list(range(10)),
    )


def values_dataset(n_targets: int = 1) -> tables.Dataset:
    return tables.Dataset(
        id="ds_2", n_rows=200, n_features=5, n_targets=n_targets, target_kind="values", classes=None
    )


def resolve(
    body: dict[str, Any], dataset: tables.Dataset | None = None, settings: Settings | None = None
) -> dict[str, Any]:
    return resolve_spec(
        JobSubmit.model_validate({"dataset_id": "ds_1", **body}),
        dataset or labels_dataset(),
        settings=settings or Settings(),
    )


def refused(
    body: dict[str, Any], dataset: tables.Dataset | None = None, settings: Settings | None = None
) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        resolve(body, dataset, settings)
    return info.value


def test_dataset_id_alone_is_the_api_example() -> None:
    assert resolve({}) == API_EXAMPLE_SPEC


def test_api_example_body_resolves_to_itself() -> None:
    assert resolve(API_EXAMPLE_SPEC) == API_EXAMPLE_SPEC


def test_regression_defaults() -> None:
    spec = resolve({}, values_dataset())
    assert spec["task"] == "regression"
    assert spec["network"]["output_activation"] == "identity" and spec["network"]["loss"] == "mse"


@pytest.mark.parametrize(
    ("network", "task", "expected"),
    [
        ({"loss": "binary_cross_entropy"}, "classification", ("sigmoid", "binary_cross_entropy")),
        ({"output_activation": "sigmoid"}, "classification", ("sigmoid", "binary_cross_entropy")),
        ({"output_activation": "sigmoid"}, "regression", ("sigmoid", "mse")),
        ({"output_activation": "softmax"}, "classification", ("softmax", "cross_entropy")),
        ({"output_activation": "tanh"}, "regression", ("tanh", "mse")),
        ({"loss": "mse"}, "classification", ("identity", "mse")),
        ({"loss": "mse", "output_activation": "softmax"}, "classification", ("softmax", "mse")),
    ],
)
def test_output_and_loss_default_from_each_other(
    network: dict[str, Any], task: str, expected: tuple[str, str]
) -> None:
    dataset = labels_dataset() if task == "classification" else values_dataset()
    spec = resolve({"network": network}, dataset)
    assert (spec["network"]["output_activation"], spec["network"]["loss"]) == expected


@pytest.mark.parametrize(
    ("network", "regression", "loc"),
    [
        ({"output_activation": "sigmoid", "loss": "cross_entropy"}, False, ["network", "loss"]),
        ({"output_activation": "identity", "loss": "cross_entropy"}, False, ["network", "loss"]),
        (
            {"output_activation": "softmax", "loss": "binary_cross_entropy"},
            False,
            ["network", "loss"],
        ),
        ({"output_activation": "relu", "loss": "binary_cross_entropy"}, False, ["network", "loss"]),
        ({"output_activation": "softmax"}, True, ["network", "output_activation"]),
        ({"output_activation": "softmax", "loss": "mse"}, True, ["network", "output_activation"]),
        ({"loss": "binary_cross_entropy"}, True, ["network", "loss"]),
        ({"loss": "cross_entropy"}, True, ["network", "loss"]),
    ],
)
def test_illegal_pairings(network: dict[str, Any], regression: bool, loc: list[str]) -> None:
    error = refused({"network": network}, values_dataset() if regression else None)
    assert ["body", *loc] in [e["loc"] for e in error.errors]
    assert error.detail


def test_dataset_without_targets() -> None:
    dataset = tables.Dataset(id="ds_9", n_rows=10, n_features=3, n_targets=0, target_kind=None)
    error = refused({}, dataset)
    assert "no targets" in error.detail and "batch predictions" in error.detail
    assert error.errors[0]["loc"] == ["body", "dataset_id"]


def test_task_reads_targets_as_its_kind_when_they_allow() -> None:
    """Numeric labels train as values; whole-number values train as labels."""
    spec = resolve({"task": "regression"})
    assert spec["task"] == "regression" and spec["network"]["loss"] == "mse"
    assert output_units(trained_as(labels_dataset(), "regression")) == 1
    whole = np.array([[3.0], [1.0], [2.0], [3.0]])
    spec = resolve_spec(JobSubmit.model_validate({"dataset_id": "ds_2", "task": "classification"}),
                        values_dataset(), settings=Settings(), targets=whole)
    assert spec["task"] == "classification" and spec["network"]["loss"] == "cross_entropy"
    view = trained_as(values_dataset(), "classification", whole)
    assert (view.target_kind, view.classes, output_units(view)) == ("labels", [1, 2, 3], 3)


def test_task_refuses_targets_it_cannot_read() -> None:
    error = refused({"task": "regression"}, labels_dataset(classes=["cat", "dog"]))
    assert error.errors[0]["loc"] == ["body", "task"]
    assert "regression needs numeric target values" in error.detail and "'cat'" in error.detail
    with pytest.raises(InvalidInput) as info:
        trained_as(values_dataset(), "classification", np.array([[1.0], [2.5]]))
    assert info.value.errors[0]["loc"] == ["body", "task"]
    assert "not all whole numbers (row 1: 2.5)" in info.value.detail
    with pytest.raises(InvalidInput, match="3 target columns"):
        trained_as(values_dataset(n_targets=3), "classification", np.ones((4, 3)))


def test_classification_needs_two_classes() -> None:
    error = refused({}, labels_dataset(classes=["cat"]))
    assert "at least 2 classes" in error.detail and "'cat'" in error.detail


def test_parameter_limit_names_the_count() -> None:
    settings = Settings(max_parameters=1000)
    error = refused({"network": {"hidden_layers": [{"units": 100}]}}, settings=settings)
    assert error.errors[0]["loc"] == ["body", "network", "hidden_layers"]
    assert "7,510 parameters" in error.detail and "1,000" in error.detail


def test_epoch_limit() -> None:
    error = refused({"training": {"epochs": 11}}, settings=Settings(max_epochs=10))
    assert error.errors[0]["loc"] == ["body", "training", "epochs"]
    assert resolve({"training": {"epochs": 10}}, settings=Settings(max_epochs=10))


def test_several_errors_are_reported_together() -> None:
    error = refused(
        {
            "training": {"epochs": 11},
            "network": {"loss": "cross_entropy", "output_activation": "relu"},
        },
        settings=Settings(max_epochs=10),
    )
    assert len(error.errors) == 2


def test_batch_size_larger_than_rows_is_fine() -> None:
    assert resolve({"training": {"batch_size": 10_000}})["training"]["batch_size"] == 10_000


def test_validation_split_off_and_early_stopping() -> None:
    spec = resolve({"training": {"validation_split": None}})
    assert spec["training"]["validation_split"] is None
    assert spec["training"]["early_stopping"] is None
    spec = resolve({"training": {"validation_split": 0.0, "early_stopping": None}})
    assert spec["training"]["early_stopping"] is None
    error = refused({"training": {"validation_split": None, "early_stopping": {"patience": 3}}})
    assert error.errors[0]["loc"] == ["body", "training", "early_stopping"]


def test_default_validation_split_switched_off_on_tiny_datasets() -> None:
    spec = resolve({}, labels_dataset(classes=[0, 1], n_rows=5))
    assert spec["training"]["validation_split"] is None
    assert spec["training"]["early_stopping"] is None
    error = refused({"training": {"validation_split": 0.1}}, labels_dataset([0, 1], n_rows=5))
    assert error.errors[0]["loc"] == ["body", "training", "validation_split"]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (
            {"network": {"hidden_layers": [{"units": 3, "activation": "relux"}]}},
            ("network", "hidden_layers", 0, "activation"),
        ),
        ({"network": {"hidden_layers": [{"units": 0}]}}, ("network", "hidden_layers", 0, "units")),
        (
            {"network": {"hidden_layers": [{"units": 3, "activation": "softmax"}]}},
            ("network", "hidden_layers", 0, "activation"),
        ),
        ({"network": {"output_activation": "elu"}}, ("network", "output_activation")),
        ({"network": {"loss": "hinge"}}, ("network", "loss")),
        ({"network": {"init": "zeros"}}, ("network", "init")),
        ({"network": {"hiden_layers": []}}, ("network", "hiden_layers")),
        ({"training": {"epochs": 0}}, ("training", "epochs")),
        ({"training": {"batch_size": 0}}, ("training", "batch_size")),
        ({"training": {"seed": -1}}, ("training", "seed")),
        ({"training": {"dtype": "float16"}}, ("training", "dtype")),
        ({"training": {"weight_decay": -0.1}}, ("training", "weight_decay")),
        ({"training": {"validation_split": 0.9}}, ("training", "validation_split")),
        ({"training": {"learning_rate": 0.1}}, ("training", "learning_rate")),
        (
            {"training": {"optimizer": {"name": "adam", "beta": 0.9}}},
            ("training", "optimizer", "adam", "beta"),
        ),
        (
            {"training": {"optimizer": {"name": "adam", "learning_rate": 0}}},
            ("training", "optimizer", "adam", "learning_rate"),
        ),
        ({"training": {"optimizer": {"name": "lbfgs"}}}, ("training", "optimizer")),
        (
            {"training": {"early_stopping": {"patience": 0}}},
            ("training", "early_stopping", "patience"),
        ),
        ({"max_attempts": 0}, ("max_attempts",)),
        ({"max_attempts": 11}, ("max_attempts",)),
        ({"task": "clustering"}, ("task",)),
        ({"tsak": "regression"}, ("tsak",)),
    ],
)
def test_model_refuses_with_the_field_loc(body: dict[str, Any], loc: tuple[Any, ...]) -> None:
    with pytest.raises(ValidationError) as info:
        JobSubmit.model_validate({"dataset_id": "ds_1", **body})
    assert info.value.errors()[0]["loc"] == loc


def test_nan_learning_rate_refused() -> None:
    with pytest.raises(ValidationError):
        JobSubmit.model_validate_json(
            '{"dataset_id": "d", "training": {"optimizer": {"name": "sgd", "learning_rate": NaN}}}'
        )


@pytest.mark.parametrize(
    ("optimizer", "expected"),
    [
        ({"name": "sgd"}, {"name": "sgd", "learning_rate": 0.01}),
        ({"name": "momentum"}, {"name": "momentum", "learning_rate": 0.01, "beta": 0.9}),
        (
            {"name": "rmsprop"},
            {"name": "rmsprop", "learning_rate": 0.001, "beta": 0.9, "epsilon": 1e-8},
        ),
        ("sgd", {"name": "sgd", "learning_rate": 0.01}),
        (
            {"learning_rate": 0.01},
            {"name": "adam", "learning_rate": 0.01, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
        ),
    ],
)
def test_optimizer_defaults(optimizer: Any, expected: dict[str, Any]) -> None:
    assert resolve({"training": {"optimizer": optimizer}})["training"]["optimizer"] == expected


def test_defaults_agree_with_the_engine() -> None:
    from worker.nn import fill_network_defaults, fill_training_defaults

    spec = resolve({})
    assert fill_training_defaults({}) == spec["training"]
    assert fill_training_defaults(spec["training"]) == spec["training"]
    assert fill_network_defaults(spec["network"], "classification") == spec["network"]
    for name in ("sgd", "momentum", "rmsprop", "adam"):
        ours = resolve({"training": {"optimizer": {"name": name}}})["training"]["optimizer"]
        assert fill_training_defaults({"optimizer": {"name": name}})["optimizer"] == ours


def test_output_units_and_parameters() -> None:
    assert output_units(labels_dataset()) == 10
    assert output_units(values_dataset(n_targets=3)) == 3
    spec = resolve({})
    assert count_parameters(spec, 64, 10) == 64 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10
    no_hidden = {"network": {"hidden_layers": []}}
    assert count_parameters(no_hidden, 4, 3) == 15


def test_estimate_fields() -> None:
    dataset = labels_dataset(n_rows=1000)
    spec = resolve({}, dataset)
    result = estimate(spec, dataset)
    parameters = count_parameters(spec, 64, 10)
    assert result["parameters"] == parameters
    assert result["flops_per_epoch"] == 6 * 900 * parameters + 2 * 100 * parameters
    assert result["memory_bytes"] > parameters * 4
    assert result["estimated_seconds"] > 0
    bigger = estimate(resolve({"training": {"epochs": 500}}, dataset), dataset)
    assert bigger["estimated_seconds"] > 9 * result["estimated_seconds"]
    assert set(result) == {"parameters", "flops_per_epoch", "memory_bytes", "estimated_seconds"}


def test_request_sha256_is_canonical() -> None:
    a = {"dataset_id": "d", "training": {"epochs": 3, "seed": 1}}
    b = {"training": {"seed": 1, "epochs": 3}, "dataset_id": "d"}
    assert request_sha256(a) == request_sha256(b)
    assert request_sha256(a) != request_sha256({"dataset_id": "d", "training": {"epochs": 4}})
    assert request_sha256(JobSubmit.model_validate(a)) == request_sha256(
        JobSubmit.model_validate(b)
    )
    assert len(request_sha256(a)) == 64


def categorical_dataset() -> tables.Dataset:
    columns = [{"name": "a", "kind": "numeric", "missing": 3, "categories": None},
               {"name": "city", "kind": "categorical", "missing": 0, "categories": 40}]
    return tables.Dataset(id="ds_3", n_rows=500, n_features=2, n_targets=1,
                          target_kind="labels", classes=[0, 1], columns=columns)


def test_the_input_width_counts_encoded_columns() -> None:
    dataset = categorical_dataset()
    spec = resolve({}, dataset)
    assert estimate(spec, dataset)["parameters"] == count_parameters(spec, 1 + 1 + 40, 2)
    narrow = resolve({"preprocessing": {"max_categories": 5, "missing_indicators": False}},
                     dataset)
    assert estimate(narrow, dataset)["parameters"] == count_parameters(narrow, 1 + 5, 2)
    error = refused({}, dataset, Settings(max_encoded_width=20))
    assert "DESCENT_MAX_ENCODED_WIDTH" in error.detail and "max_categories" in error.detail
    assert error.errors[0]["loc"] == ["body", "preprocessing"]
    with pytest.raises(ValidationError):
        JobSubmit.model_validate({"dataset_id": "d", "preprocessing": {"unknown": "guess"}})
