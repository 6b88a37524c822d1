"""Service overhead: one training job through the service against the same training run directly
with ``worker.nn.train`` in this process (same data, spec, seed, one BLAS thread)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import numpy as np
from threadpoolctl import threadpool_limits

from benchmarks.service_bench.measures import submit, upload, wait_job, when
from worker.nn import Network, train

NETWORK = {
    "hidden_layers": [{"units": 256, "activation": "relu"}, {"units": 256, "activation": "relu"}]
}
ROWS, FEATURES, CLASSES = 6000, 64, 10


def training(epochs: int) -> dict[str, Any]:
    # Validation and standardization on (the defaults); no early stopping, so every run
    # trains exactly ``epochs`` epochs.
    return {"epochs": epochs, "batch_size": 64, "seed": 0, "early_stopping": None}


def train_directly(X: Any, y: Any, epochs: int) -> float:
    """Seconds ``worker.nn.train`` takes, as the worker calls it (one-hot float64 targets)."""
    Y = np.zeros((y.shape[0], CLASSES))
    Y[np.arange(y.shape[0]), y] = 1.0
    with threadpool_limits(limits=1):
        net = Network.from_spec(NETWORK, X.shape[1], CLASSES, seed=0, task="classification")
        started = time.perf_counter()
        train(net, X, Y, training(epochs), task="classification")
        return time.perf_counter() - started


def service_overhead(
    client: httpx.Client, X: Any, y: Any, *, seconds: float, repeat: int = 2
) -> dict[str, Any]:
    """Train for about ``seconds``, ``repeat`` times each, interleaved: directly, then through
    the service (one idle worker); ratios of the best service run to the best direct run (a
    noisy spell on a shared machine hits both alike)."""
    train_directly(X, y, 1)  # warm: BLAS, page faults, caches
    per_epoch = train_directly(X, y, 2) / 2
    epochs = max(2, round(seconds / per_epoch))
    dataset_id = upload(client, "overhead", X, y)
    body = {
        "dataset_id": dataset_id, "task": "classification", "network": NETWORK,
        "training": training(epochs),
    }
    direct, in_worker, end_to_end = [], [], []
    for _ in range(repeat):
        direct.append(train_directly(X, y, epochs))
        sent = time.time()
        job = submit(client, body)
        done = wait_job(client, job["id"], timeout=max(600.0, 20 * seconds), poll=0.05)
        end_to_end.append(time.time() - sent)
        in_worker.append(when(done["finished_at"]) - when(done["started_at"]))
    base = min(direct)
    return {
        "epochs": epochs, "direct": base, "in_worker": min(in_worker),
        "end_to_end": min(end_to_end), "ratio_worker": min(in_worker) / base,
        "ratio_end_to_end": min(end_to_end) / base, "job_id": job["id"], "body": body,
    }


def overhead_data() -> tuple[Any, Any]:
    rng = np.random.default_rng(3)
    X = rng.standard_normal((ROWS, FEATURES))
    y = (X @ rng.standard_normal((FEATURES, CLASSES))).argmax(axis=1)
    return X, y
