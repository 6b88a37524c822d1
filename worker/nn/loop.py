"""The training loop over prepared data: mini-batches, optimizer steps, metrics, early stopping,
snapshots, resume.

``fit`` takes inputs already in the network's dtype and layout (the pipeline's output: the split
and the preprocessing happened before, see ``training.train`` and the train job). Per batch the
loop does only arithmetic, in preallocated buffers. With shuffling, each batch's input rows are
gathered (``np.take``) into one batch-sized buffer just before its forward pass, so they are
still in cache when its two GEMMs read them: gathering the whole epoch's permuted copy first
wrote and re-read every input value through main memory (about a twelfth of an epoch on the
benchmark's 784-feature workload). Targets and row weights, narrow, are permuted once per epoch.
The
training part's metrics are accumulated from each batch's outputs while it trains (the mean over
the epoch, as Keras and scikit-learn report them); the validation part's come from a full pass
with the end-of-epoch weights.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .backprop import Workspace
from .class_weights import class_weight_vector, row_weights
from .clipping import clip_grad_norm
from .diagnostics import Probe, epoch_warnings
from .dropout import draw_masks, dropout_rates
from .errors import DivergedError, SpecError
from .metrics import RunningMetrics, evaluate
from .network import Network
from .optimizers import Optimizer, make_optimizer
from .random import RandomStreams
from .schedules import Schedule
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
    schedule: Schedule
    target_scale: np.ndarray | None = None  # (n_outputs,): metrics in target units
    class_weights: np.ndarray | None = None  # (n_classes,)
    dropout: list[float] = field(default_factory=list)  # p per hidden layer
    history: list[dict[str, Any]] = field(default_factory=list)
    probe: Probe | None = None  # training.diagnostics
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
            "lr_schedule": self.schedule.state_dict(),
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
        if "lr_schedule" in state.components:
            self.schedule.load_state_dict(state.components["lr_schedule"])
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
    labels: Sequence[Any] | None = None,
) -> Run:
    """Train ``net`` in place on prepared ``X`` and ``Y`` with a filled ``training`` ``config``;
    the finished ``Run`` (its ``history``, and ``kept_epoch``: whose weights ``net`` ends with).

    ``validation`` is the prepared held-out part; ``streams`` the run's random streams (the
    ``shuffle`` stream orders each epoch); ``target_scale`` ``(n_outputs,)``, when ``Y`` is
    scaled regression targets, puts ``mae``/``rmse`` in target units; ``labels`` name the
    classes (the keys of ``training.class_weight``; column indices without). See
    ``training.train`` for ``state``, ``on_epoch``, ``should_stop`` and the history.
    """
    if validation is not None:
        validation = (validation[0], net.prepare_targets(validation[1], validation[0].shape[0]))
    Y = net.prepare_targets(Y, X.shape[0])
    optimizer = make_optimizer(config["optimizer"], net.flat_params, net.flat_grads,
                               net.n_weights, config["weight_decay"])
    run = Run(
        net=net, config=config, task=task, X=X, Y=Y, validation=validation,
        optimizer=optimizer,
        stopper=EarlyStopping.from_spec(config["early_stopping"], net.n_parameters, net.dtype),
        streams=streams, target_scale=target_scale,
        schedule=Schedule(optimizer.learning_rate, config.get("lr_schedule"),
                          config.get("warmup_epochs") or 0),
        class_weights=class_weight_vector(config.get("class_weight"), Y, net.loss_name, labels),
        dropout=dropout_rates(net.spec["hidden_layers"]),
        probe=Probe(net) if config.get("diagnostics") else None,
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
            if not _train_epoch(run, epoch_data, epoch, should_stop):
                break
            _end_epoch(run, epoch_data, epoch, started, on_epoch)
            run.last_epoch = epoch
            run.stopped = run.stopped or (should_stop is not None and bool(should_stop()))
    if run.stopper is not None and run.stopper.best_flat is not None \
            and run.stopper.best_epoch is not None:
        np.copyto(net.flat_params, run.stopper.best_flat)
    return run


@dataclass
class Batch:
    """One mini-batch: ``rows`` of the epoch's order, its inputs and targets, its workspace.

    ``X`` ``(m, n_inputs)`` is a view of the training inputs without shuffling, else a buffer
    (shared by the epoch's full-size batches) that the loop fills (``np.take``) from the epoch's
    permutation; ``Y`` ``(m, n_outputs)`` and ``w`` ``(m,)`` are views of the epoch's
    permuted targets and row weights."""

    rows: slice
    X: np.ndarray
    Y: np.ndarray
    w: np.ndarray | None
    workspace: Workspace


@dataclass
class EpochData:
    """The epoch's order (``perm``, None without shuffling), permuted targets and row weights,
    and its batches."""

    perm: np.ndarray | None
    Y: np.ndarray
    W: np.ndarray | None  # (n_train,) row weights (class weights), or None
    batches: list[Batch]
    running: RunningMetrics
    W_val: np.ndarray | None = None  # the validation part's row weights


def _epoch_buffers(run: Run) -> EpochData:
    net, n_train = run.net, run.X.shape[0]
    batch_size = min(run.config["batch_size"], n_train)
    shuffle = run.config["shuffle"]
    Y_epoch = np.empty_like(run.Y) if shuffle else run.Y
    W_epoch = row_weights(run.class_weights, run.Y, net.dtype)
    dropout = [p > 0 for p in run.dropout]
    full = Workspace(net.sizes, batch_size, net.dtype, dropout)
    X_full = np.empty((batch_size, net.sizes[0]), net.dtype) if shuffle else None
    batches = []
    for i in range(0, n_train, batch_size):
        rows = slice(i, min(i + batch_size, n_train))
        m = rows.stop - i
        X = run.X[rows] if X_full is None else X_full if m == batch_size \
            else np.empty((m, net.sizes[0]), net.dtype)
        batches.append(Batch(rows, X, Y_epoch[rows], None if W_epoch is None else W_epoch[rows],
                             full if m == batch_size
                             else Workspace(net.sizes, m, net.dtype, dropout)))
    W_val = None if run.validation is None else row_weights(run.class_weights,
                                                            run.validation[1], net.dtype)
    running = RunningMetrics(net.loss_name, run.task, run.Y, run.target_scale)
    return EpochData(None, Y_epoch, W_epoch, batches, running, W_val)


def _train_epoch(run: Run, data: EpochData, epoch: int, should_stop: ShouldStop | None) -> bool:
    """One pass over the batches; False when ``should_stop`` ended it part-way."""
    run.optimizer.learning_rate = run.schedule.rate(epoch - 1)
    X = run.X
    if run.config["shuffle"]:
        data.perm = run.streams.generator("shuffle").permutation(X.shape[0])
        run.Y.take(data.perm, axis=0, out=data.Y, mode="clip")
        weights = row_weights(run.class_weights, data.Y, run.net.dtype)
        if data.W is not None and weights is not None:
            np.copyto(data.W, weights)
    perm = data.perm
    accumulate, step, observe = run.net.accumulate_gradients, run.optimizer.step, data.running.add
    clip, grads = run.config.get("clip_grad_norm"), run.net.flat_grads
    dropping = any(p > 0 for p in run.dropout)
    rng = run.streams.generator("dropout") if dropping else None
    probe, last = run.probe, data.batches[-1]
    if probe is not None:
        probe.start_epoch()
    for batch in data.batches:
        if perm is not None:
            # a permutation's indices are in range: "clip" skips the bounds check, and with it
            # the temporary copy np.take makes of ``out`` in its default mode
            X.take(perm[batch.rows], axis=0, out=batch.X, mode="clip")
        workspace = batch.workspace
        if rng is not None:
            draw_masks(rng, run.dropout, workspace.masks, workspace.uniform)
        accumulate(batch.X, batch.Y, workspace, observe, workspace.masks, batch.w)
        if probe is not None:
            probe.add_batch()
            if batch is last:
                probe.before_last_step()
        if clip is not None:
            clip_grad_norm(grads, clip)
        step()
        if probe is not None and batch is last:
            probe.after_last_step()
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
        for key, value in evaluate(run.net, *run.validation, run.task, run.target_scale,
                                   data.W_val).items():
            metrics[f"val_{key}"] = value
    for key in ("loss", "val_loss"):
        if key in metrics and not np.isfinite(metrics[key]):
            raise DivergedError(epoch, f"{key} is {metrics[key]}")
    if not np.isfinite(run.net.flat_params).all():
        raise DivergedError(epoch, "a parameter is not finite")
    row: dict[str, Any] = {"epoch": epoch, **metrics,
                           "learning_rate": run.optimizer.learning_rate,
                           "seconds": time.perf_counter() - started}
    if run.probe is not None:
        layers = run.probe.result(data.batches[-1].X)  # still the last batch's rows
        blocks = [r["diagnostics"]["layers"] for r in run.history if r.get("diagnostics")]
        row["diagnostics"] = {"layers": layers, "warnings": epoch_warnings([*blocks, layers])}
    run.history.append(row)
    run.schedule.observe(epoch - 1, metrics.get("val_loss", metrics["loss"]))
    if run.stopper is not None:
        run.stopper.update(metrics.get("val_loss", metrics["loss"]), epoch, run.net.flat_params)
        run.stopped = run.stopper.exhausted
    if on_epoch is not None:
        on_epoch(epoch, dict(row), run.snapshot(epoch))
