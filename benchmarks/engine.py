"""Engine benchmark: ``worker.nn`` against PyTorch (CPU) and scikit-learn's MLPClassifier.

Runs the workloads of ``benchmarks/workloads.json`` (``--workloads PATH`` to choose
another file) for the three frameworks in one process, with the same BLAS/OpenMP thread count for
all (``--threads``, default 1: threadpoolctl for NumPy/scikit-learn, ``torch.set_num_threads`` for
PyTorch), and prints samples per second (rows x epochs / seconds of training), each framework's
ratio to the best peer, and its fraction of the BLAS bound: the samples per second NumPy's matmul
alone would reach doing only the per-batch products of the engine (forward ``X W`` per layer,
backward ``Aᵀ δ`` per layer and ``δ Wᵀ`` for all but the first layer).

    python benchmarks/engine.py             # all workloads, best of 3 runs each
    python benchmarks/engine.py --quick     # a smoke run on shrunken workloads
    python benchmarks/engine.py --clock cpu # CPU time, not wall-clock: for a shared machine

Each framework trains the same network (relu hidden layers, softmax + cross-entropy, Adam with
learning rate 0.001, float32, shuffled mini-batches of the workload's size) on the same data. The
engine runs ``worker.nn.train`` exactly as the worker does, including its per-epoch metrics
(training loss and accuracy), with validation, standardization and early stopping off, and
per-layer diagnostics off; ``engine+diag`` is the same run with ``training.diagnostics`` on, and
each workload's last line prints what the diagnostics cost (its time over the engine's, minus 1).

The training controls (``--controls``, default workload M; ``--controls`` alone skips them) get
a table of their own (``engine_bench/controls.py``): a ``bare`` loop of the engine's parts, the
engine with every control ``off`` (target ≤ 5 % over bare) and each control on (≤ 15 % over off).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.engine_bench.controls import control_runners, print_controls  # noqa: E402
from worker.nn import Network, train  # noqa: E402

DEFAULT_WORKLOADS = ROOT / "benchmarks" / "workloads.json"

# What every timing reads (``--clock``): wall-clock time, or this process's CPU time, which on a
# shared machine leaves out the spells other processes held the core (with one thread; with
# more it adds theirs up, so it is refused there).
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}
clock = CLOCKS["wall"]


def make_data(workload: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """``X ~ N(0, 1)`` float32 and uniform integer labels, both from ``default_rng(0)``."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((workload["rows"], workload["features"]), dtype=np.float32)
    y = rng.integers(0, workload["classes"], workload["rows"])
    return X, y


def sizes_of(workload: dict[str, Any]) -> list[int]:
    return [workload["features"], *workload["hidden"], workload["classes"]]


def run_engine(workload: dict[str, Any], X: np.ndarray, y: np.ndarray,
               diagnostics: bool = False, dropout: float = 0.0,
               controls: dict[str, Any] | None = None) -> float:
    """Seconds ``worker.nn.train`` takes; ``dropout`` on every hidden layer and ``controls``
    (more ``training`` keys) turn training controls on."""
    net, Y = _engine_network(workload, y, dropout)
    training = {
        "epochs": workload["epochs"], "batch_size": workload["batch_size"], "shuffle": True,
        "seed": 0, "dtype": "float32",
        "optimizer": {"name": "adam", "learning_rate": 0.001},
        "validation_split": None, "standardize": False, "early_stopping": None,
        "diagnostics": diagnostics, **(controls or {}),
    }
    started = clock()
    train(net, X, Y, training)
    return clock() - started


def _engine_network(workload: dict[str, Any], y: np.ndarray,
                    dropout: float = 0.0) -> tuple[Network, np.ndarray]:
    network = {
        "hidden_layers": [{"units": u, "activation": "relu", "dropout": dropout}
                          for u in workload["hidden"]],
        "output_activation": "softmax",
        "loss": "cross_entropy",
    }
    Y = np.eye(workload["classes"], dtype=np.float32)[y]
    return Network.from_spec(network, workload["features"], workload["classes"], seed=0), Y


def run_torch(workload: dict[str, Any], X: np.ndarray, y: np.ndarray) -> float:
    import torch

    torch.manual_seed(0)
    sizes = sizes_of(workload)
    modules: list[torch.nn.Module] = []
    for fan_in, fan_out in zip(sizes[:-2], sizes[1:-1], strict=True):
        modules += [torch.nn.Linear(fan_in, fan_out), torch.nn.ReLU()]
    modules.append(torch.nn.Linear(sizes[-2], sizes[-1]))
    model = torch.nn.Sequential(*modules)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
    loss_fn = torch.nn.CrossEntropyLoss()
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
    generator = torch.Generator().manual_seed(0)
    batch, rows = workload["batch_size"], workload["rows"]
    started = clock()
    for _ in range(workload["epochs"]):
        perm = torch.randperm(rows, generator=generator)
        for i in range(0, rows, batch):
            index = perm[i : i + batch]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(X_t[index]), y_t[index])
            loss.backward()
            optimizer.step()
    return clock() - started


def run_sklearn(workload: dict[str, Any], X: np.ndarray, y: np.ndarray) -> float:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(
        hidden_layer_sizes=tuple(workload["hidden"]), activation="relu", solver="adam",
        alpha=0.0, batch_size=workload["batch_size"], learning_rate_init=0.001,
        max_iter=workload["epochs"], shuffle=True, random_state=0, tol=0.0,
        n_iter_no_change=workload["epochs"] + 1, early_stopping=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        started = clock()
        model.fit(X, y)
        return clock() - started


def blas_bound(workload: dict[str, Any], repeats: int) -> float:
    """Samples per second if training were only the engine's per-batch matmuls (float32)."""
    rng = np.random.default_rng(1)
    batch, sizes = workload["batch_size"], sizes_of(workload)
    products = []
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        A = rng.standard_normal((batch, fan_in), dtype=np.float32)
        W = rng.standard_normal((fan_in, fan_out), dtype=np.float32)
        D = rng.standard_normal((batch, fan_out), dtype=np.float32)
        products.append((A, W, np.empty((batch, fan_out), np.float32)))  # forward  X W
        products.append((A.T, D, np.empty((fan_in, fan_out), np.float32)))  # dW = Aᵀ δ
        if layer > 0:
            products.append((D, W.T, np.empty((batch, fan_in), np.float32)))  # dX = δ Wᵀ
    flops = sum(2 * a.shape[0] * a.shape[1] * b.shape[1] for a, b, _ in products)
    reps = max(3, min(2000, int(2e10 / flops)))
    best = float("inf")
    for _ in range(repeats):
        started = clock()
        for _ in range(reps):
            for a, b, out in products:
                np.matmul(a, b, out=out)
        best = min(best, (clock() - started) / reps)
    return batch / best


RUNNERS: dict[str, Callable[[dict[str, Any], np.ndarray, np.ndarray], float]] = {
    "engine": run_engine,
    "engine+diag": partial(run_engine, diagnostics=True),
    "pytorch": run_torch,
    "sklearn": run_sklearn,
}


def quick(workload: dict[str, Any]) -> dict[str, Any]:
    """A shrunken workload for smoke runs: at most 2,000 rows, one epoch, hidden ≤ 64 units."""
    return {**workload, "rows": min(workload["rows"], 2000), "epochs": 1,
            "hidden": [min(h, 64) for h in workload["hidden"]]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", type=Path, default=DEFAULT_WORKLOADS)
    parser.add_argument("--only", nargs="*", help="workload names to run (default: all)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP threads, all peers")
    parser.add_argument("--repeat", type=int, default=3, help="runs per framework; best is kept")
    parser.add_argument("--quick", action="store_true", help="shrunken workloads, one run")
    parser.add_argument("--frameworks", nargs="*", default=list(RUNNERS), choices=list(RUNNERS))
    parser.add_argument("--controls", nargs="*", default=["M"], metavar="WORKLOAD",
                        help="workloads to time the training controls on (default: M; "
                             "none without names)")
    parser.add_argument("--clock", choices=list(CLOCKS), default="wall",
                        help="wall-clock time, or the process's CPU time (one thread only)")
    args = parser.parse_args(argv)
    if args.clock == "cpu" and args.threads != 1:
        parser.error("--clock cpu needs --threads 1 (CPU time adds the threads up)")
    global clock
    clock = CLOCKS[args.clock]

    from threadpoolctl import threadpool_limits

    spec = json.loads(args.workloads.read_text())
    workloads = [w for w in spec["workloads"] if not args.only or w["name"] in args.only]
    repeat = 1 if args.quick else args.repeat
    frameworks = [name for name in args.frameworks if _available(name, args.threads)]

    print(f"python {platform.python_version()}, numpy {np.__version__}, "
          f"{_versions(frameworks)}threads {args.threads}, best of {repeat}, "
          f"{args.clock} clock"
          + (", QUICK (shrunken workloads)" if args.quick else ""))
    header = (f"{'workload':<9}{'framework':<10}{'samples/s':>12}{'vs best peer':>14}"
              f"{'of BLAS bound':>15}")
    print(header)
    print("-" * len(header))
    with threadpool_limits(limits=args.threads):
        for workload in workloads:
            workload = quick(workload) if args.quick else workload
            print_frameworks(workload, *make_data(workload), frameworks, repeat)
        runners = control_runners(run_engine, _engine_network, clock)
        for workload in workloads:
            if workload["name"] in args.controls:
                workload = quick(workload) if args.quick else workload
                print()
                print_controls(workload, *make_data(workload), repeat, runners)
    return 0


def print_frameworks(workload: dict[str, Any], X: np.ndarray, y: np.ndarray,
                     frameworks: list[str], repeat: int) -> None:
    """One workload's rows of the main table: best of ``repeat`` interleaved runs each."""
    samples = workload["rows"] * workload["epochs"]
    seconds = {name: float("inf") for name in frameworks}
    for _ in range(repeat):  # interleaved, so a busy spell hits every framework alike
        for name in frameworks:
            seconds[name] = min(seconds[name], RUNNERS[name](workload, X, y))
    rates = {name: samples / value for name, value in seconds.items()}
    bound = blas_bound(workload, repeat)
    peers = [rate for name, rate in rates.items() if not name.startswith("engine")]
    best_peer = max(peers) if peers else float("nan")
    for name, rate in rates.items():
        versus = f"{rate / best_peer:>13.2f}x" if peers else f"{'-':>14}"
        print(f"{workload['name']:<9}{name:<10}{rate:>12,.0f}{versus}{rate / bound:>15.2f}")
    print(f"{workload['name']:<9}{'bound':<10}{bound:>12,.0f}{'':>14}{'(matmul only)':>15}")
    if "engine" in seconds and "engine+diag" in seconds:
        cost = seconds["engine+diag"] / seconds["engine"] - 1
        print(f"{workload['name']:<9}diagnostics cost {cost:+.1%} of the engine's time")


def _available(name: str, threads: int) -> bool:
    if name == "pytorch":
        try:
            import torch
        except ImportError:
            print("pytorch not installed: skipped (pip install -e '.[bench]')")
            return False
        torch.set_num_threads(threads)
    if name == "sklearn":
        try:
            import sklearn  # noqa: F401
        except ImportError:
            print("scikit-learn not installed: skipped (pip install -e '.[bench]')")
            return False
    return True


def _versions(frameworks: list[str]) -> str:
    text = ""
    if "pytorch" in frameworks:
        import torch

        text += f"torch {torch.__version__}, "
    if "sklearn" in frameworks:
        import sklearn

        text += f"scikit-learn {sklearn.__version__}, "
    return text


if __name__ == "__main__":
    raise SystemExit(main())
