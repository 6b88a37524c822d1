"""A training state written by an earlier Descent (format 1) resumes today.

``data/state_v1_epoch3.npz`` was written by the code before the training state became a set of
named components: the state after epoch 3 of the run in ``state_v1_epoch3.json``, with that run's
final weights (their sha256) and history.

The recorded hash holds where NumPy and its BLAS round as they did when the fixture was made (a
newer NumPy may change the last bit of a product: 2.4.6 does, here). There the resume must end
with exactly those weights; everywhere it must agree with an uninterrupted run to ~1e-9, and
both runs with the recorded history — a misread optimizer moment, step count, RNG or
early-stopping state, or a changed formula, misses by far more than that.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from test_nn_training import blobs, without_seconds
from threadpoolctl import threadpool_limits

from service.artifacts import weights_sha256
from worker.nn import Network, TrainingState, train

DATA = Path(__file__).parent / "data"
RTOL = 1e-9


def meta() -> dict[str, Any]:
    return json.loads((DATA / "state_v1_epoch3.json").read_text())


def without_lr(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows as format 1 recorded them (before ``learning_rate`` and ``diagnostics``)."""
    return [{k: v for k, v in row.items() if k not in ("learning_rate", "diagnostics")}
            for row in without_seconds(history)]


def run(state: TrainingState | None = None) -> tuple[list[np.ndarray], list[dict[str, Any]]]:
    """``(final params, history)`` of the fixture's run, resumed from ``state`` if given (the
    network's own seed then must not matter: the state carries the weights)."""
    recorded = meta()
    X, Y = blobs()
    net = Network.from_spec(recorded["network"], 5, 3, seed=0 if state is None else 99,
                            dtype="float64", task="classification")
    with threadpool_limits(limits=1):
        history = train(net, X, Y, recorded["training"], state=state)
    return list(net.params), without_lr(history)


def assert_same_history(history: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    assert [sorted(row) for row in history] == [sorted(row) for row in expected]
    for row, want in zip(history, expected, strict=True):
        assert row["epoch"] == want["epoch"]
        for key, value in want.items():
            np.testing.assert_allclose(row[key], value, rtol=RTOL, atol=0, err_msg=key)


def test_a_format_1_state_resumes_bit_identically() -> None:
    recorded = meta()
    state = TrainingState.from_bytes((DATA / "state_v1_epoch3.npz").read_bytes())
    assert state.epoch == recorded["resume_epoch"]
    resumed, history = run(state)
    uninterrupted, _ = run()
    if weights_sha256(uninterrupted) == recorded["weights_sha256"]:  # rounds as the fixture's
        assert weights_sha256(resumed) == recorded["weights_sha256"]
        assert history == recorded["history"]
    assert len(resumed) == len(uninterrupted)
    for got, want in zip(resumed, uninterrupted, strict=True):
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-12)
    assert_same_history(history, recorded["history"])


def test_an_uninterrupted_run_is_unchanged() -> None:
    """Its recorded history to ~1e-9 (its hash, where it reproduces, is held to above)."""
    _, history = run()
    assert_same_history(history, meta()["history"])
