"""The training loop over prepared data: mini-batches, optimizer steps, metrics, early stopping,
snapshots, resume.

``fit`` takes inputs already in the network's dtype and layout (the pipeline's output: the split
and the preprocessing happened before, see ``training.train`` and the train job). Per batch the
loop does only arithmetic: batches are contiguous slices of the epoch's permuted copy of the data
(gathered once per epoch into a preallocated buffer) and every buffer is preallocated. The
training part's metrics are accumulated from each batch's outputs while it trains (the mean over
the epoch, as Keras and scikit-learn report them); the validation part's come from a full pass
with the end-of-epoch weights.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import DivergedError, SpecError
from .metrics import RunningMetrics, evaluate
from .network import Network, Workspace
from .optimizers import Optimizer, make_optimizer
from .random import RandomStreams
from .state import TrainingState
from .stopping import EarlyStopping

OnEpoch = Callable[[int, dict[str, Any], TrainingState], None]
ShouldStop = Callable[[], bool]


@dataclass
class Run:
    """One training run: the network, its data and every part that keeps state."""

    net: Network
    config: Mapping[str, Any]
    task: str
    X: np.ndarray  # (n_train, n_inputs), prepared
    Y: np.ndarray  # (n_train, n_outputs), in the network's dtype
    validation: tuple[np.ndarray, np.ndarray] | None
    optimizer: Optimizer
    stopper: EarlyStopping | None
    streams: RandomStreams
    target_scale: np.ndarray | None = None  # (n_outputs,): metrics in target units
    history: list[dict[str, Any]] = field(default_factory=list)
    stopped: bool = False
    last_epoch: int = 0

    @property
    def kept_epoch(self) -> int:
        """The epoch whose weights the network ends with: the best one when early stopping
        restores it, else the last one run (0 before any)."""
        stopper = self.stopper
        if stopper is not None and stopper.best_params is not None \
                and stopper.best_epoch is not None:
            return int(stopper.best_epoch)
        return self.last_epoch

    def snapshot(self, epoch: int) -> TrainingState:
        components: dict[str, Any] = {
            "params": {"arrays": [p.copy() for p in self.net.params]},
            "optimizer": self.optimizer.state_dict(),
            "rng": self.streams.state_dict(),
        }
        if self.stopper is not None:
            components["early_stopping"] = self.stopper.state_dict()
        return TrainingState(epoch, components, self.history, len(self.history))

    def restore(self, state: TrainingState) -> int:
        """Continue from ``state``; returns the first epoch still to run."""
        if state.optimizer != self.optimizer.name:
            raise SpecError(("training", "optimizer", "name"),
                            f"the state was saved by {state.optimizer}, not "
                            f"{self.optimizer.name}; resume with the original training spec")
        self.net.params = state.params
        self.optimizer.load_state_dict(state.components["optimizer"])
        self.streams.load_state_dict(state.components["rng"])
        if self.stopper is not None and "early_stopping" in state.components:
            self.stopper.load_state_dict(state.components["early_stopping"])
        self.history = state.history
        return state.epoch + 1


def fit(net: Network, X: np.ndarray, Y: np.ndarray, config: Mapping[str, Any], **kwargs: Any
        ) -> list[dict[str, Any]]:
    """Train ``net`` in place on prepared ``X`` and ``Y``; the history (see ``run_fit``)."""
    return run_fit(net, X, Y, config, **kwargs).history


def run_fit(
    net: Network,
    X: np.ndarray,
    Y: np.ndarray,
    config: Mapping[str, Any],
    *,
    task: str,
    streams: RandomStreams,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    state: TrainingState | None = None,
    on_epoch: OnEpoch | None = None,
    should_stop: ShouldStop | None = None,
    target_scale: np.ndarray | None = None,
) -> Run:
    """Train ``net`` in place on prepared ``X`` and ``Y`` with a filled ``training`` ``config``;
    the finished ``Run`` (its ``history``, and ``kept_epoch``: whose weights ``net`` ends with).

    ``validation`` is the prepared held-out part; ``streams`` the run's random streams (the
    ``shuffle`` stream orders each epoch); ``target_scale`` ``(n_outputs,)``, when ``Y`` is
    scaled regression targets, puts ``mae``/``rmse`` in target units. See ``training.train``
    for ``state``, ``on_epoch``, ``should_stop`` and the history.
    """
    if validation is not None:
        validation = (validation[0], net.prepare_targets(validation[1], validation[0].shape[0]))
    run = Run(
        net=net, config=config, task=task, X=X, Y=net.prepare_targets(Y, X.shape[0]),
        validation=validation,
        optimizer=make_optimizer(config["optimizer"], net.flat_params, net.flat_grads,
                                 net.n_weights, config["weight_decay"]),
        stopper=EarlyStopping.from_spec(config["early_stopping"], net.n_parameters, net.dtype),
        streams=streams, target_scale=target_scale,
    )
    first_epoch = 1 if state is None else run.restore(state)
    run.last_epoch = first_epoch - 1
    run.stopped = run.stopper is not None and run.stopper.exhausted
    epoch_data = _epoch_buffers(run)
    with np.errstate(all="ignore"):  # overflow shows up as a non-finite loss: DivergedError
        for epoch in range(first_epoch, config["epochs"] + 1):
            if run.stopped:
                break
            started = time.perf_counter()
            if not _train_epoch(run, epoch_data, should_stop):
                break
            _end_epoch(run, epoch_data, epoch, started, on_epoch)
            run.last_epoch = epoch
            run.stopped = run.stopped or (should_stop is not None and bool(should_stop()))
    if run.stopper is not None and run.stopper.best_flat is not None \
            and run.stopper.best_epoch is not None:
        np.copyto(net.flat_params, run.stopper.best_flat)
    return run


@dataclass
class EpochData:
    """The epoch's (permuted) copy of the training part and its batches' views."""

    X: np.ndarray
    Y: np.ndarray
    batches: list[tuple[np.ndarray, np.ndarray, Workspace]]
    running: RunningMetrics


def _epoch_buffers(run: Run) -> EpochData:
    net, n_train = run.net, run.X.shape[0]
    batch_size = min(run.config["batch_size"], n_train)
    shuffle = run.config["shuffle"]
    X_epoch, Y_epoch = (np.empty_like(run.X), np.empty_like(run.Y)) if shuffle else (run.X, run.Y)
    full = Workspace(net.sizes, batch_size, net.dtype)
    batches = [
        (X_epoch[i : i + batch_size], Y_epoch[i : i + batch_size],
         full if i + batch_size <= n_train else Workspace(net.sizes, n_train - i, net.dtype))
        for i in range(0, n_train, batch_size)
    ]
    return EpochData(X_epoch, Y_epoch, batches, RunningMetrics(net.loss_name, run.task, run.Y,
                                                          run.target_scale))


def _train_epoch(run: Run, data: EpochData, should_stop: ShouldStop | None) -> bool:
    """One pass over the batches; False when ``should_stop`` ended it part-way."""
    if run.config["shuffle"]:
        perm = run.streams.generator("shuffle").permutation(run.X.shape[0])
        np.take(run.X, perm, axis=0, out=data.X)
        np.take(run.Y, perm, axis=0, out=data.Y)
    accumulate, step, observe = run.net.accumulate_gradients, run.optimizer.step, data.running.add
    for X_batch, Y_batch, workspace in data.batches:
        accumulate(X_batch, Y_batch, workspace, observe)
        step()
        if should_stop is not None and should_stop():
            run.stopped = True
            return False
    return True


def _end_epoch(
    run: Run, data: EpochData, epoch: int, started: float, on_epoch: OnEpoch | None
) -> None:
    """The epoch's metrics row, the divergence check, early stopping and the snapshot."""
    metrics = data.running.result()
    if run.validation is not None:
        for key, value in evaluate(run.net, *run.validation, run.task,
                                          run.target_scale).items():
            metrics[f"val_{key}"] = value
    for key in ("loss", "val_loss"):
        if key in metrics and not np.isfinite(metrics[key]):
            raise DivergedError(epoch, f"{key} is {metrics[key]}")
    if not np.isfinite(run.net.flat_params).all():
        raise DivergedError(epoch, "a parameter is not finite")
    row = {"epoch": epoch, **metrics, "seconds": time.perf_counter() - started}
    run.history.append(row)
    if run.stopper is not None:
        run.stopper.update(metrics.get("val_loss", metrics["loss"]), epoch, run.net.flat_params)
        run.stopped = run.stopper.exhausted
    if on_epoch is not None:
        on_epoch(epoch, dict(row), run.snapshot(epoch))
