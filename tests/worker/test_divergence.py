"""The hint of a diverged job (`worker.jobs.divergence`): the causes it can see, named."""

from __future__ import annotations

import numpy as np

from worker.jobs.divergence import explain, likely_causes

ENGINE = (
    "training diverged at epoch 3: loss is inf; lower the learning rate (or standardize the inputs)"
)
ADAM = {"name": "adam", "learning_rate": 0.001}
RNG = np.random.default_rng(0)
X = RNG.normal(size=(200, 4))
Y = RNG.normal(size=(200, 1))


def test_large_regression_targets_are_named_with_their_size() -> None:
    causes = likely_causes(task="regression", X=X, Y=Y * 50 + 1e4, optimizer=ADAM,
                           standardized=True)
    assert len(causes) == 1
    assert "regression targets are large" in causes[0] and "mean 999" in causes[0]
    assert "training.standardize_targets to true" in causes[0]


def test_a_large_spread_counts_as_well_as_a_large_mean() -> None:
    causes = likely_causes(task="regression", X=X, Y=np.hstack([Y, Y * 500]), optimizer=ADAM,
                           standardized=True)
    assert len(causes) == 1 and "column 1" in causes[0]


def test_class_targets_and_unit_targets_are_no_cause() -> None:
    one_hot = np.eye(3)[RNG.integers(0, 3, 200)]
    assert likely_causes(task="classification", X=X, Y=one_hot, optimizer=ADAM,
                         standardized=True) == []
    assert likely_causes(task="regression", X=X, Y=Y * 10, optimizer=ADAM,
                         standardized=True) == []


def test_large_inputs_only_when_not_standardized() -> None:
    big = X * 1e3
    assert likely_causes(task="regression", X=big, Y=Y, optimizer=ADAM, standardized=True) == []
    causes = likely_causes(task="regression", X=big, Y=Y, optimizer=ADAM, standardized=False)
    assert len(causes) == 1 and "training.standardize" in causes[0]


def test_a_high_learning_rate_is_named_against_the_optimizers_default() -> None:
    for name, rate, high in [("sgd", 0.05, False), ("sgd", 0.1, True), ("adam", 0.005, False),
                             ("adam", 0.01, True), ("momentum", 1e12, True)]:
        causes = likely_causes(task="regression", X=X, Y=Y,
                               optimizer={"name": name, "learning_rate": rate}, standardized=True)
        assert bool(causes) == high, (name, rate, causes)
        if high:
            assert f"learning rate {rate:g} is high for {name}" in causes[0]


def test_the_message_keeps_the_epoch_and_lists_every_cause() -> None:
    causes = likely_causes(task="regression", X=X, Y=Y + 1e4,
                           optimizer={"name": "sgd", "learning_rate": 1.0}, standardized=True)
    message = explain(ENGINE, causes)
    assert message.startswith("training diverged at epoch 3: loss is inf. Likely causes: ")
    assert "regression targets" in message and "learning rate 1 is high" in message
    assert explain(ENGINE, []) == ENGINE  # nothing visible: the engine's own advice stands
