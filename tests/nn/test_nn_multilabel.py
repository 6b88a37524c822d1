"""Multilabel in the engine: sigmoid outputs with binary cross-entropy per label (the mean over
all ``n k`` entries, as ``torch.nn.BCEWithLogitsLoss``), its gradient against central
differences, and Hamming accuracy in the history."""

from __future__ import annotations

import numpy as np

from worker.nn import Network, RandomStreams, fill_training_defaults, gradcheck, run_fit
from worker.nn.metrics import evaluate

SPEC = {"hidden_layers": [{"units": 6, "activation": "tanh"}]}


def _data(rows: int = 9, seed: int = 2) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, 4))
    Y = (rng.uniform(size=(rows, 3)) < 0.5).astype(np.float64)  # 0/1, several per row
    return X, Y


def test_multilabel_defaults_are_sigmoid_and_binary_cross_entropy() -> None:
    net = Network.from_spec(SPEC, 4, 3, seed=1, dtype="float64", task="multilabel")
    assert (net.spec["output_activation"], net.loss_name) == ("sigmoid", "binary_cross_entropy")


def test_sigmoid_bce_multi_output_passes_gradcheck() -> None:
    X, Y = _data()
    net = Network.from_spec(SPEC, 4, 3, seed=1, dtype="float64", task="multilabel")
    for b in net.params[1::2]:
        b[...] = np.random.default_rng(4).normal(0.0, 0.3, b.shape)
    assert gradcheck(net, X, Y) < 1e-6


def test_loss_is_the_mean_over_rows_and_labels() -> None:
    X, Y = _data()
    net = Network.from_spec(SPEC, 4, 3, seed=1, dtype="float64", task="multilabel")
    Z, P = net.logits_and_outputs(X)
    expected = -np.mean(Y * np.log(P) + (1 - Y) * np.log(1 - P))  # over all n·k entries
    got = evaluate(net, X, Y, "multilabel")
    assert abs(got["loss"] - expected) < 1e-12
    assert got["accuracy"] == np.mean((P > 0.5) == (Y == 1))  # Hamming, not argmax


def test_history_reports_hamming_accuracy() -> None:
    X, Y = _data(rows=40)
    val_X, val_Y = _data(rows=7, seed=9)
    net = Network.from_spec(SPEC, 4, 3, seed=1, dtype="float64", task="multilabel")
    config = fill_training_defaults({"epochs": 3, "batch_size": 8, "validation_split": None,
                                     "early_stopping": None, "dtype": "float64"})
    run = run_fit(net, X, Y, config, task="multilabel", streams=RandomStreams(0),
                  validation=(val_X, val_Y))
    last = run.history[-1]
    P = net.logits_and_outputs(val_X)[1]
    assert last["val_accuracy"] == np.mean((P > 0.5) == (val_Y == 1))  # over 7·3 decisions
    assert "mae" not in last and 0.0 <= last["accuracy"] <= 1.0
