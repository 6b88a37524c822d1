"""Sweeps benchmark: what early termination saves and what TPE buys. Prints, never asserts.

    python benchmarks/sweeps.py                  # both parts (~3 minutes on 2 cores)
    python benchmarks/sweeps.py --only pruning   # or --only tpe (seconds)

**pruning** — one 16-trial random sweep on scikit-learn's digits run twice through a real
`descent serve` and one `descent worker` (SQLite, parallelism 1 so both runs see trials in
the same order): without early termination, then with the median rule. A random sweep's
trial ``n`` gets the same parameters in both (they depend on the seed and ``n`` only), so the
pruned sweep trains a subset of the same runs. Printed: epochs trained by each, their ratio
(target ≤ 0.60), each best ``val_loss`` and their relative gap (target ≤ 2 %).

**tpe** — TPE against random search on a fixed budget, on a synthetic objective (a smooth
function of a log-scaled learning rate, a width and a dropout rate with its optimum inside the
space), through the same `service.sweeps.study.sample` the service uses, trials told
sequentially. Printed per seed: each method's best value after the budget (lower is better).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.service_bench.processes import KEY, serve  # noqa: E402
from descent import Client  # noqa: E402
from service.sweeps.config import SweepCreate  # noqa: E402
from service.sweeps.study import TrialRecord, sample  # noqa: E402

EPOCHS = 20
SPACE: dict[str, Any] = {
    "training.optimizer.learning_rate": {"log_uniform": [1e-4, 0.3]},
    "network.hidden_layers.0.units": {"choice": [16, 32, 64]},
}
BASE: dict[str, Any] = {
    "network": {"hidden_layers": [{"units": 32, "activation": "relu"}]},
    "training": {"epochs": EPOCHS, "validation_split": 0.2, "early_stopping": None,
                 "optimizer": {"name": "sgd"}, "batch_size": 32},
}
MEDIAN = {"type": "median", "startup_trials": 3, "warmup_epochs": 1}


def run_sweep(client: Client, dataset_id: str, early_termination: Any) -> dict[str, Any]:
    started = time.perf_counter()
    sweep = client.create_sweep(
        dataset_id=dataset_id, base=BASE, space=SPACE, method="random", max_trials=16,
        parallelism=1, metric={"name": "val_loss", "goal": "minimize"}, seed=11,
        early_termination=early_termination)
    done = client.wait_sweep(sweep.id, timeout=1800, poll_interval=0.5)
    assert done.best is not None, done
    return {"epochs": done.epochs_trained, "best": done.best.value, "pruned":
            done.counts.get("pruned", 0), "seconds": time.perf_counter() - started,
            "accuracy": (done.best.metrics or {}).get("val_accuracy")}


def pruning() -> None:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    with tempfile.TemporaryDirectory() as tmp, \
            serve(f"sqlite:///{Path(tmp) / 'descent.db'}", Path(tmp)) as served:
        served.start_workers(1)
        with Client(served.url, KEY) as client:
            dataset = client.upload_dataset(X, y, name="digits")
            full = run_sweep(client, dataset.id, None)
            pruned = run_sweep(client, dataset.id, MEDIAN)
    print("pruning: 16-trial random sweep on digits, sgd, 20 epochs, val_loss (seed 11)")
    print(f"{'':10} {'epochs':>7} {'pruned':>7} {'best val_loss':>14} {'val_acc':>8} {'s':>6}")
    for name, r in (("none", full), ("median", pruned)):
        print(f"{name:10} {r['epochs']:7d} {r['pruned']:7d} {r['best']:14.5f} "
              f"{r['accuracy'] or float('nan'):8.4f} {r['seconds']:6.1f}")
    ratio = pruned["epochs"] / full["epochs"]
    gap = (pruned["best"] - full["best"]) / full["best"]
    print(f"epochs with pruning / without: {ratio:.2f} (target <= 0.60)")
    print(f"best val_loss gap: {gap:+.2%} (target <= 2%)")


def objective(params: dict[str, Any]) -> float:
    """Lower is better; optimum at lr 10^-2.5, 96 units, dropout 0.15."""
    lr = math.log10(params["training.optimizer.learning_rate"])
    units = params["network.hidden_layers.0.units"]
    dropout = params["network.hidden_layers.0.dropout"]
    return (lr + 2.5) ** 2 + ((units - 96) / 64) ** 2 + 4 * (dropout - 0.15) ** 2


def search(method: str, seed: int, budget: int) -> float:
    config = SweepCreate.model_validate({
        "dataset_id": "ds_synthetic", "method": method, "max_trials": budget, "seed": seed,
        "space": {"training.optimizer.learning_rate": {"log_uniform": [1e-5, 1.0]},
                  "network.hidden_layers.0.units": {"int": [8, 256]},
                  "network.hidden_layers.0.dropout": {"uniform": [0.0, 0.6]}}})
    trials: list[TrialRecord] = []
    for number in range(budget):
        params = sample(config, trials, number)
        trials.append(TrialRecord(number, params, "complete", objective(params)))
    return min(t.value for t in trials if t.value is not None)


def tpe(budget: int = 40, seeds: range = range(5)) -> None:
    print(f"tpe: best objective after {budget} trials (lower is better; optimum 0)")
    print(f"{'seed':>4} {'random':>9} {'tpe':>9}")
    wins, totals = 0, {"random": 0.0, "tpe": 0.0}
    for seed in seeds:
        r, t = search("random", seed, budget), search("tpe", seed, budget)
        totals["random"] += r
        totals["tpe"] += t
        wins += t < r
        print(f"{seed:4d} {r:9.4f} {t:9.4f}")
    n = len(seeds)
    print(f"mean {totals['random'] / n:9.4f} {totals['tpe'] / n:9.4f}; "
          f"TPE better on {wins}/{n} seeds")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=("pruning", "tpe"))
    args = parser.parse_args()
    if args.only in (None, "tpe"):
        tpe()
    if args.only in (None, "pruning"):
        pruning()


if __name__ == "__main__":
    main()
