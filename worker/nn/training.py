"""The training loop: mini-batches, validation split, standardization, early stopping, resume.

Determinism. ``training.seed`` feeds one ``np.random.SeedSequence`` spawning two generators: one
draws the validation split once (so a resumed run sees the same split without storing it), the
other draws one permutation per epoch for shuffling (its state is part of ``TrainingState``).
Nothing else is random, so a run resumed from the state of any epoch ends with exactly the
weights of the uninterrupted run.

Per batch the loop does only arithmetic: batches are contiguous slices of the epoch's permuted
copy of the data (gathered once per epoch into a preallocated buffer) and every buffer is
preallocated. The training part's metrics are accumulated from each batch's outputs while it
trains (the mean over the epoch, as Keras and scikit-learn report them); the validation part's
come from a full pass with the end-of-epoch weights.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from copy import deepcopy
from typing import Any

import numpy as np

from .defaults import fill_training_defaults
from .errors import DataError, DivergedError, SpecError
from .metrics import RunningMetrics, evaluate
from .network import Network, Workspace
from .optimizers import Optimizer, make_optimizer
from .state import TrainingState

CLASSIFICATION_LOSSES = ("cross_entropy", "binary_cross_entropy")


class EarlyStopping:
    """Tracks the monitored loss; ``exhausted`` once ``patience`` epochs brought no improvement
    of more than ``min_delta``."""

    def __init__(self, patience: int, min_delta: float, restore_best: bool, size: int,
                 dtype: np.dtype) -> None:
        self.patience, self.min_delta, self.restore_best = patience, min_delta, restore_best
        self.best_loss: float | None = None
        self.best_epoch: int | None = None
        self.bad_epochs = 0
        self.best_flat = np.empty(size, dtype) if restore_best else None

    def update(self, loss: float, epoch: int, flat_params: np.ndarray) -> None:
        if self.best_loss is None or loss < self.best_loss - self.min_delta:
            self.best_loss, self.best_epoch, self.bad_epochs = loss, epoch, 0
            if self.best_flat is not None:
                np.copyto(self.best_flat, flat_params)
        else:
            self.bad_epochs += 1

    @property
    def exhausted(self) -> bool:
        return self.bad_epochs > 0 and self.bad_epochs >= self.patience


def split_rows(n: int, fraction: float | None, rng: np.random.Generator) -> tuple[Any, Any]:
    """Training and validation row indices (each sorted); validation is the END of a seeded
    permutation, ``floor(n * fraction)`` rows. ``(None, None)`` when there is no validation."""
    n_val = int(np.floor(n * fraction)) if fraction else 0
    if n_val == 0:
        return None, None
    perm = rng.permutation(n)
    return np.sort(perm[: n - n_val]), np.sort(perm[n - n_val :])


def _check_data(net: Network, X: Any, Y: Any) -> tuple[np.ndarray, np.ndarray]:
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


def _fit_standardization(X: np.ndarray, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Mean and scale of each column (float64 sums); scale 1 where the column is constant."""
    mean = X.mean(axis=0, dtype=np.float64)
    std = X.std(axis=0, dtype=np.float64)
    return mean, np.where(std.astype(dtype) > 0, std, 1.0)


def _snapshot(net: Network, optimizer: Optimizer, rng: np.random.Generator, epoch: int,
              stopper: EarlyStopping | None, history: list[dict[str, Any]]) -> TrainingState:
    moments = optimizer.state_dict()["moments"]
    best = stopper.best_flat if stopper is not None and stopper.best_epoch is not None else None
    return TrainingState(
        params=[p.copy() for p in net.params],
        optimizer=optimizer.name,
        moments=moments,
        step=optimizer.step_count,
        epoch=epoch,
        rng_state=deepcopy(dict(rng.bit_generator.state)),
        best_loss=stopper.best_loss if stopper else None,
        best_epoch=stopper.best_epoch if stopper else None,
        best_params=[p.copy() for p in net.unflatten(best)] if best is not None else None,
        bad_epochs=stopper.bad_epochs if stopper else 0,
        standardization=deepcopy(net.standardization),
        history=deepcopy(history),
    )


def _restore(state: TrainingState, net: Network, optimizer: Optimizer,
             rng: np.random.Generator, stopper: EarlyStopping | None) -> list[dict[str, Any]]:
    if state.optimizer != optimizer.name:
        raise SpecError(("training", "optimizer", "name"),
                        f"the state was saved by {state.optimizer}, "
                        f"not {optimizer.name}; resume with the original training spec")
    net.params = state.params
    optimizer.load_state_dict({"step": state.step, "moments": state.moments})
    rng.bit_generator.state = state.rng_state
    if stopper is not None:
        stopper.best_loss, stopper.best_epoch = state.best_loss, state.best_epoch
        stopper.bad_epochs = state.bad_epochs
        if stopper.best_flat is not None and state.best_params is not None:
            for view, saved in zip(net.unflatten(stopper.best_flat), state.best_params,
                                   strict=True):
                np.copyto(view, saved)
    return deepcopy(state.history)


def train(
    net: Network,
    X: Any,
    Y: Any,
    training: Mapping[str, Any] | None = None,
    *,
    on_epoch: Callable[[int, dict[str, Any], TrainingState], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    state: TrainingState | None = None,
    task: str | None = None,
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
        ``training.dtype``, when given, must match ``net.dtype``.
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
        One row per completed epoch (including a resumed state's earlier rows): ``epoch``,
        ``loss``, ``accuracy`` or ``mae``/``r2`` (the training part, accumulated over the epoch's
        batches), the same with ``val_`` when validating (a full pass after the epoch), and
        ``seconds``. Early stopping watches ``val_loss``, or ``loss`` without validation. With
        ``restore_best``, ``net`` ends with the parameters of the best epoch.

    Raises
    ------
    SpecError
        For an invalid ``training`` object. ``ValueError`` for data of the wrong shape or with
        NaN/infinity. ``DivergedError`` when an epoch ends with a non-finite loss or parameter.
    """
    config = fill_training_defaults(training)
    if training and "dtype" in training and config["dtype"] != net.dtype.name:
        raise SpecError(("training", "dtype"),
                        f"{config['dtype']} does not match the network's "
                        f"{net.dtype.name}; build it with Network.from_spec(..., dtype=...)")
    task = task or ("classification" if net.loss_name in CLASSIFICATION_LOSSES else "regression")
    X, Y = _check_data(net, X, Y)
    split_seq, shuffle_seq = np.random.SeedSequence(config["seed"]).spawn(2)
    train_rows, val_rows = split_rows(X.shape[0], config["validation_split"],
                                      np.random.default_rng(split_seq))
    X_train, Y_train = (X, Y) if train_rows is None else (X[train_rows], Y[train_rows])
    if state is not None:
        net.standardization = state.standardization
    elif config["standardize"]:
        net.standardization = _fit_standardization(X_train, net.dtype)
    else:
        net.standardization = None
    Xs, Ys = net.prepare_inputs(X_train), np.ascontiguousarray(Y_train)
    validation = None if val_rows is None else (net.prepare_inputs(X[val_rows]), Y[val_rows])

    optimizer = make_optimizer(config["optimizer"], net.flat_params, net.flat_grads,
                               net.n_weights, config["weight_decay"])
    stopping = config["early_stopping"]
    stopper = None if stopping is None else EarlyStopping(
        stopping["patience"], stopping["min_delta"], stopping["restore_best"],
        net.n_parameters, net.dtype)
    rng = np.random.default_rng(shuffle_seq)
    history: list[dict[str, Any]] = []
    if state is not None:
        history = _restore(state, net, optimizer, rng, stopper)
    first_epoch = 1 if state is None else state.epoch + 1

    n_train = Xs.shape[0]
    batch_size = min(config["batch_size"], n_train)
    X_epoch, Y_epoch = (np.empty_like(Xs), np.empty_like(Ys)) if config["shuffle"] else (Xs, Ys)
    full = Workspace(net.sizes, batch_size, net.dtype)
    batches = [
        (X_epoch[i : i + batch_size], Y_epoch[i : i + batch_size],
         full if i + batch_size <= n_train else Workspace(net.sizes, n_train - i, net.dtype))
        for i in range(0, n_train, batch_size)
    ]
    running = RunningMetrics(net.loss_name, task, Ys)
    accumulate, step, observe = net.accumulate_gradients, optimizer.step, running.add
    stopped = stopper is not None and stopper.exhausted
    with np.errstate(all="ignore"):  # overflow shows up as a non-finite loss: DivergedError
        for epoch in range(first_epoch, config["epochs"] + 1):
            if stopped:
                break
            started = time.perf_counter()
            if config["shuffle"]:
                perm = rng.permutation(n_train)
                np.take(Xs, perm, axis=0, out=X_epoch)
                np.take(Ys, perm, axis=0, out=Y_epoch)
            for X_batch, Y_batch, workspace in batches:
                accumulate(X_batch, Y_batch, workspace, observe)
                step()
                if should_stop is not None and should_stop():
                    stopped = True
                    break
            if stopped:
                break
            metrics = running.result()
            if validation is not None:
                for key, value in evaluate(net, *validation, task).items():
                    metrics[f"val_{key}"] = value
            for key in ("loss", "val_loss"):
                if key in metrics and not np.isfinite(metrics[key]):
                    raise DivergedError(epoch, f"{key} is {metrics[key]}")
            if not np.isfinite(net.flat_params).all():
                raise DivergedError(epoch, "a parameter is not finite")
            row = {"epoch": epoch, **metrics, "seconds": time.perf_counter() - started}
            history.append(row)
            if stopper is not None:
                stopper.update(metrics.get("val_loss", metrics["loss"]), epoch, net.flat_params)
                stopped = stopper.exhausted
            if on_epoch is not None:
                on_epoch(epoch, dict(row), _snapshot(net, optimizer, rng, epoch, stopper, history))
            stopped = stopped or (should_stop is not None and bool(should_stop()))
    if stopper is not None and stopper.best_flat is not None and stopper.best_epoch is not None:
        np.copyto(net.flat_params, stopper.best_flat)
    return history
