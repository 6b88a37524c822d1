"""The engine learns a real problem: scikit-learn's digits, held-out test accuracy ≥ 0.95."""

from __future__ import annotations

import numpy as np
import pytest

from worker.nn import Network, train


@pytest.mark.slow
def test_digits_relu_64_reaches_95_percent() -> None:
    datasets = pytest.importorskip("sklearn.datasets")
    model_selection = pytest.importorskip("sklearn.model_selection")
    X, y = datasets.load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = model_selection.train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0)
    net = Network.from_spec({"hidden_layers": [{"units": 64, "activation": "relu"}]}, 64, 10,
                            task="classification", seed=0)
    history = train(net, X_train, np.eye(10)[y_train], {"epochs": 60})
    assert len(history) <= 60
    accuracy = np.mean(net.forward(X_test).argmax(axis=1) == y_test)
    assert accuracy >= 0.95, f"test accuracy {accuracy:.3f}"
