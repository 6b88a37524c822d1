"""The engine benchmark's training-controls table (``benchmarks/engine.py --controls``).

Engine runs only, interleaved like the frameworks (benchmarks/README.md "Training controls"):

* ``bare``: the engine's own parts (``Network.accumulate_gradients``, the optimizer, the running
  metrics, the same per-batch gather) in a loop with none of the controls' code — no schedule,
  clipping, dropout, class-weight or diagnostics branch, no end-of-epoch checks or history;
* ``off``: ``worker.nn.train`` with every control off (the ``engine`` run); its time over
  ``bare``'s is what the controls cost when off (target ≤ 5 %);
* one row per control on, alone, its time over ``off``'s (target ≤ 15 %): ``dropout`` 0.2 on
  every hidden layer, ``schedule`` cosine after one warmup epoch, ``clipping`` at global norm 1,
  ``class_weight`` balanced, ``diagnostics`` on.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from worker.nn import Network
from worker.nn.backprop import Workspace
from worker.nn.defaults import fill_training_defaults
from worker.nn.metrics import RunningMetrics
from worker.nn.optimizers import make_optimizer
from worker.nn.random import RandomStreams

Runner = Callable[[dict[str, Any], np.ndarray, np.ndarray], float]
NetworkOf = Callable[[dict[str, Any], np.ndarray], tuple[Network, np.ndarray]]

# Each training control on its own: (dropout on every hidden layer, more ``training`` keys).
CONTROLS: dict[str, tuple[float, dict[str, Any]]] = {
    "dropout": (0.2, {}),
    "schedule": (0.0, {"lr_schedule": {"name": "cosine", "t_max": 2}, "warmup_epochs": 1}),
    "clipping": (0.0, {"clip_grad_norm": 1.0}),
    "class_weight": (0.0, {"class_weight": "balanced"}),
    "diagnostics": (0.0, {"diagnostics": True}),
}
OFF_TARGET, ON_TARGET = 0.05, 0.15


def control_runners(run_engine: Callable[..., float], network_of: NetworkOf,
                    clock: Callable[[], float]) -> dict[str, Runner]:
    """``bare``, ``off`` and one runner per control; ``run_engine(workload, X, y, dropout=,
    controls=)`` is the benchmark's engine run, ``network_of(workload, y)`` its network and
    one-hot targets, ``clock`` what ``bare`` is timed with."""
    return {
        "bare": partial(run_bare, network_of=network_of, clock=clock),
        "off": run_engine,
        **{name: partial(run_engine, dropout=dropout, controls=controls)
           for name, (dropout, controls) in CONTROLS.items()},
    }


def run_bare(workload: dict[str, Any], X: np.ndarray, y: np.ndarray, *,
             network_of: NetworkOf, clock: Callable[[], float]) -> float:
    """Seconds of the engine's arithmetic alone: the loop of ``worker.nn.loop`` with none of
    the controls' code, on the same network, data and permutations."""
    net, Y = network_of(workload, y)
    spec = fill_training_defaults({"optimizer": {"name": "adam", "learning_rate": 0.001}})
    optimizer = make_optimizer(spec["optimizer"], net.flat_params, net.flat_grads,
                               net.n_weights)
    shuffle = RandomStreams(0).generator("shuffle")
    rows, batch = X.shape[0], min(workload["batch_size"], X.shape[0])
    started = clock()
    running = RunningMetrics(net.loss_name, "classification", Y)
    Y_epoch = np.empty_like(Y)
    spans = [slice(i, min(i + batch, rows)) for i in range(0, rows, batch)]
    buffers = {span.stop - span.start: np.empty((span.stop - span.start, X.shape[1]), X.dtype)
               for span in spans}
    workspaces = {m: Workspace(net.sizes, m, net.dtype) for m in buffers}
    for _ in range(workload["epochs"]):
        perm = shuffle.permutation(rows)
        Y.take(perm, axis=0, out=Y_epoch, mode="clip")
        for span in spans:
            m = span.stop - span.start
            X_batch = X.take(perm[span], axis=0, out=buffers[m], mode="clip")
            net.accumulate_gradients(X_batch, Y_epoch[span], workspaces[m], running.add)
            optimizer.step()
        running.result()
    return clock() - started


def print_controls(workload: dict[str, Any], X: np.ndarray, y: np.ndarray, repeat: int,
                   runners: dict[str, Runner]) -> None:
    """The controls' table for one workload: best of ``repeat`` interleaved runs each."""
    samples = workload["rows"] * workload["epochs"]
    seconds = {name: float("inf") for name in runners}
    for _ in range(repeat):  # interleaved, as the frameworks
        for name, runner in runners.items():
            seconds[name] = min(seconds[name], runner(workload, X, y))
    header = f"{'workload':<9}{'control':<14}{'samples/s':>12}{'cost':>9}  {'of':<5}{'target':>8}"
    print(f"training controls on {workload['name']}: engine only, best of {repeat}; cost = "
          "time over the reference's, minus 1")
    print(header)
    print("-" * len(header))
    for name, value in seconds.items():
        reference, target = (None, None) if name == "bare" else \
            ("bare", OFF_TARGET) if name == "off" else ("off", ON_TARGET)
        cost = "" if reference is None else \
            f"{value / seconds[reference] - 1:>+9.1%}  {reference:<5}"
        goal = "" if target is None else f"{'≤ ' + format(target, '.0%'):>8}"
        print(f"{workload['name']:<9}{name:<14}{samples / value:>12,.0f}{cost:>16}{goal}")
