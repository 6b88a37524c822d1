"""A training state written by an earlier Descent (format 1) resumes bit for bit today.

``data/state_v1_epoch3.npz`` was written by the code before the training state became a set of
named components: the state after epoch 3 of the run in ``state_v1_epoch3.json``, with that run's
final weights and history. Resuming from it must end with exactly those weights.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from test_nn_training import blobs, without_seconds
from threadpoolctl import threadpool_limits

from service.artifacts import weights_sha256
from worker.nn import Network, TrainingState, train

DATA = Path(__file__).parent / "data"


def without_lr(history: list[dict]) -> list[dict]:
    """The rows as format 1 recorded them (before ``learning_rate`` was a column)."""
    return [{k: v for k, v in row.items() if k != "learning_rate"}
            for row in without_seconds(history)]


def test_a_format_1_state_resumes_bit_identically() -> None:
    meta = json.loads((DATA / "state_v1_epoch3.json").read_text())
    state = TrainingState.from_bytes((DATA / "state_v1_epoch3.npz").read_bytes())
    assert state.epoch == meta["resume_epoch"]
    X, Y = blobs()
    net = Network.from_spec(meta["network"], 5, 3, seed=99, dtype="float64",
                            task="classification")
    with threadpool_limits(limits=1):
        history = train(net, X, Y, meta["training"], state=state)
    assert weights_sha256(net.params) == meta["weights_sha256"]
    assert without_lr(history) == meta["history"]


def test_an_uninterrupted_run_is_unchanged() -> None:
    meta = json.loads((DATA / "state_v1_epoch3.json").read_text())
    X, Y = blobs()
    net = Network.from_spec(meta["network"], 5, 3, seed=0, dtype="float64",
                            task="classification")
    with threadpool_limits(limits=1):
        history = train(net, X, Y, meta["training"])
    assert weights_sha256(net.params) == meta["weights_sha256"]
    np.testing.assert_equal(without_lr(history), meta["history"])
