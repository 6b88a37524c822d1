"""``train``: the engine on its own — raw data in, split, standardized, trained, resumable.

Determinism. ``training.seed`` feeds the run's named random streams (``random.RandomStreams``):
``split`` draws the validation rows once (so a resumed run sees the same split without storing
it), ``shuffle`` draws one permutation per epoch and ``dropout`` the masks of each batch (their
states are part of ``TrainingState``).
Nothing else is random, so a run resumed from the state of any epoch ends with exactly the
weights of the uninterrupted run.

The split and the standardization are the pipeline's (``worker.pipeline``), the same functions
the train job calls; the loop itself is ``loop.fit``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from worker.pipeline import Standardizer, split_rows

from .defaults import fill_training_defaults
from .errors import DataError, SpecError
from .loop import OnEpoch, ShouldStop, fit
from .network import Network
from .random import RandomStreams
from .state import TrainingState

CLASSIFICATION_LOSSES = ("cross_entropy", "binary_cross_entropy")


def check_data(net: Network, X: Any, Y: Any) -> tuple[np.ndarray, np.ndarray]:
    """``X`` as an array and ``Y`` in the network's dtype; ``DataError`` naming the first
    NaN/infinite cell or a wrong shape."""
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] < 1:
        raise DataError(f"X: expected a non-empty 2-D array (n, {net.sizes[0]}), got {X.shape}")
    Y = net.prepare_targets(Y, X.shape[0])
    for name, array in (("X", X), ("Y", Y)):
        bad = ~np.isfinite(array)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise DataError(f"{name}: row {row}, column {col} is NaN or infinite")
    return X, Y


def task_of(net: Network, task: str | None) -> str:
    """The metrics' task: given, or inferred from the loss (cross-entropies → classification)."""
    return task or ("classification" if net.loss_name in CLASSIFICATION_LOSSES else "regression")


def _config(net: Network, training: Mapping[str, Any] | None) -> dict[str, Any]:
    config = fill_training_defaults(training)
    if training and "dtype" in training and config["dtype"] != net.dtype.name:
        raise SpecError(("training", "dtype"),
                        f"{config['dtype']} does not match the network's {net.dtype.name}; "
                        "build it with Network.from_spec(..., dtype=...)")
    return config


def train(
    net: Network, X: Any, Y: Any, training: Mapping[str, Any] | None = None, *,
    on_epoch: OnEpoch | None = None, should_stop: ShouldStop | None = None,
    state: TrainingState | None = None, task: str | None = None,
) -> list[dict[str, Any]]:
    """Train ``net`` in place on raw inputs ``X`` ``(n, n_inputs)`` and targets ``Y``.

    Parameters
    ----------
    net : Network
    X : array-like of shape (n, n_inputs)
    Y : array-like of shape (n, n_outputs)
        One-hot rows for classes, values for regression.
    training : mapping or None
        The job spec's ``training`` object, partial or complete (defaults are filled here).
        ``training.dtype``, when given, must match ``net.dtype``. ``standardize_targets`` is
        the train job's (``worker.jobs.train``): the engine on its own trains on ``Y`` as given.
    on_epoch : callable ``(epoch, metrics, state)``, optional
        Called after every epoch (1-based) with that epoch's metrics row and a snapshot
        ``TrainingState`` to checkpoint from.
    should_stop : callable ``() -> bool``, optional
        Polled after every batch and epoch; ``True`` ends training at once (the unfinished
        epoch gets no history row; the last ``on_epoch`` state is the point to resume from).
    state : TrainingState, optional
        Resume from this snapshot (same ``X``, ``Y`` and ``training``).
    task : {"classification", "regression"}, optional
        Chooses the metrics; inferred from the loss (cross-entropies → classification).

    Returns
    -------
    history : list of dict
        One row per completed epoch (including a resumed state's earlier rows, when it carries
        them): ``epoch``, ``loss``, ``accuracy`` or ``mae``/``r2`` (the training part,
        accumulated over the epoch's batches), the same with ``val_`` when validating (a full
        pass after the epoch), ``learning_rate`` (the epoch's) and ``seconds``. Controls:
        docs/api.md "Training controls" (``class_weight`` keys are column indices here).
        Early stopping watches ``val_loss``, or ``loss`` without validation. With
        ``restore_best``, ``net`` ends with the parameters of the best epoch. With
        ``standardize``, ``net.standardization`` holds the statistics fitted on the training
        part, so ``net.forward`` takes raw inputs afterwards.

    Raises
    ------
    SpecError, DataError, DivergedError
        An invalid ``training`` object; data of the wrong shape or with NaN/infinity; an epoch
        that ends with a non-finite loss or parameter.
    """
    config = _config(net, training)
    X, Y = check_data(net, X, Y)
    streams = RandomStreams(config["seed"])
    train_rows, val_rows = split_rows(X.shape[0], config["validation_split"],
                                      streams.generator("split"))
    X_train, Y_train = (X, Y) if train_rows is None else (X[train_rows], Y[train_rows])
    # Refitted on resume too: the same rows give the same statistics.
    scaler = Standardizer.fit(X_train, net.dtype) if config["standardize"] else None
    net.standardization = None if scaler is None else (scaler.mean, scaler.scale)
    validation = None if val_rows is None else (net.prepare_inputs(X[val_rows]), Y[val_rows])
    return fit(net, net.prepare_inputs(X_train), np.ascontiguousarray(Y_train), config,
               task=task_of(net, task), streams=streams, validation=validation, state=state,
               on_epoch=on_epoch, should_stop=should_stop)
