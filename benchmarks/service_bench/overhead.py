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


def service_overhead(client: httpx.Client, X: Any, y: Any, *, seconds: float) -> dict[str, Any]:
    """Train for about ``seconds``: directly, through the service (one idle worker), directly
    again; ratios against the faster direct run."""
    per_epoch = train_directly(X, y, 2) / 2
    epochs = max(2, round(seconds / per_epoch))
    dataset_id = upload(client, "overhead", X, y)
    direct = [train_directly(X, y, epochs)]
    body = {
        "dataset_id": dataset_id, "task": "classification", "network": NETWORK,
        "training": training(epochs),
    }
    sent = time.time()
    job = submit(client, body)
    done = wait_job(client, job["id"], timeout=max(600.0, 20 * seconds), poll=0.05)
    ended = time.time()
    direct.append(train_directly(X, y, epochs))
    base = min(direct)
    in_worker = when(done["finished_at"]) - when(done["started_at"])
    return {
        "epochs": epochs, "direct": base, "in_worker": in_worker, "end_to_end": ended - sent,
        "ratio_worker": in_worker / base, "ratio_end_to_end": (ended - sent) / base,
        "job_id": job["id"], "body": body,
    }


def overhead_data() -> tuple[Any, Any]:
    rng = np.random.default_rng(3)
    X = rng.standard_normal((ROWS, FEATURES))
    y = (X @ rng.standard_normal((FEATURES, CLASSES))).argmax(axis=1)
    return X, y
