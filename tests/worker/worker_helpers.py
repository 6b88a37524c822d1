"""Helpers for the worker's tests: a real training dataset, job specs, the reference weights of
an uninterrupted run, reading jobs back, and handles on real `descent worker` processes.

Workers run with short queue timings (lease 2 s, heartbeat 0.3 s) so interruptions and
recoveries happen within seconds.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from threadpoolctl import threadpool_limits

from service import queue, tables
from service.artifacts import encode_dataset, weights_sha256
from service.db import Database
from service.ids import new_id
from worker.runner import SPARE_FLAG, TRAINING_NAME

ROOT = Path(__file__).resolve().parents[2]

N_ROWS, N_FEATURES, CLASSES = 800, 10, ["a", "b", "c"]

WORKER_ENV = {
    "DESCENT_LEASE_SECONDS": "2",
    "DESCENT_HEARTBEAT_SECONDS": "0.3",
    "DESCENT_POLL_SECONDS": "0.2",
    "DESCENT_CHECKPOINT_SECONDS": "0.3",
    "DESCENT_GRACE_SECONDS": "10",
    "DESCENT_BLAS_THREADS": "1",
}


def synthetic_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(X (n, d) float64, y (n,) class indices into CLASSES)``: learnable, not separable."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N_ROWS, N_FEATURES)) * rng.uniform(0.5, 5.0, N_FEATURES) + 3.0
    score = X[:, 0] - X[:, 1] + 0.5 * rng.normal(size=N_ROWS)
    y = np.digitize(score, np.quantile(score, [1 / 3, 2 / 3])).astype(np.int64)
    return X, y


def train_spec(dataset_id: str, *, epochs: int = 100, **training: Any) -> dict[str, Any]:
    """A complete train spec; early stopping (with restore_best) is on so that its state, too,
    must survive a resume."""
    return {
        "dataset_id": dataset_id,
        "task": "classification",
        "network": {
            "hidden_layers": [
                {"units": 64, "activation": "relu"},
                {"units": 64, "activation": "tanh"},
            ],
            "output_activation": "softmax",
            "loss": "cross_entropy",
            "init": "auto",
        },
        "training": {
            "epochs": epochs,
            "batch_size": 16,
            "shuffle": True,
            "seed": 7,
            "dtype": "float64",
            "optimizer": {"name": "adam", "learning_rate": 0.001},
            "weight_decay": 0.0001,
            "validation_split": 0.2,
            "standardize": True,
            "early_stopping": {"patience": 1000, "min_delta": 0.0, "restore_best": True},
            **training,
        },
        "max_attempts": 3,
    }


def reference_run(spec: dict[str, Any], X: np.ndarray, y: np.ndarray) -> tuple[str, list[Any]]:
    """``(weights_sha256, history)`` of an uninterrupted run of ``spec``, straight through the
    engine."""
    params, history = reference_params(spec, X, y)
    return weights_sha256(params), history


def reference_params(
    spec: dict[str, Any], X: np.ndarray, y: np.ndarray
) -> tuple[list[np.ndarray], list[Any]]:
    """``(params, history)`` of an uninterrupted run of ``spec``, straight through the engine."""
    from worker.nn import Network, train

    Y = np.eye(len(CLASSES))[y]
    training = spec["training"]
    net = Network.from_spec(
        spec["network"],
        X.shape[1],
        len(CLASSES),
        seed=training["seed"],
        dtype=training["dtype"],
        task=spec["task"],
    )
    # One BLAS thread, as in the workers (WORKER_ENV), so nothing but the resume can differ.
    with threadpool_limits(limits=1):
        history = train(net, X, Y, training, task=spec["task"])
    return list(net.params), history


def insert_dataset(
    db: Database, tenant_id: str, X: np.ndarray, y: np.ndarray | None, **fields: Any
) -> str:
    dataset_id = new_id("ds")
    values: dict[str, Any] = {
        "id": dataset_id,
        "tenant_id": tenant_id,
        "name": "synthetic",
        "sha256": dataset_id.ljust(64, "0")[:64],
        "n_rows": X.shape[0],
        "n_features": X.shape[1],
        "n_targets": 0 if y is None else 1,
        "target_kind": None if y is None else "labels",
        "classes": None if y is None else CLASSES,
        "size_bytes": 0,
        "content": encode_dataset(X, y),
        **fields,
    }
    with db.write() as session:
        session.add(tables.Dataset(**values))
    return dataset_id


@dataclass
class TrainCase:
    """A tenant, a dataset and what its jobs should end with."""

    db: Database
    tenant_id: str
    dataset_id: str
    X: np.ndarray
    y: np.ndarray
    _references: dict[str, tuple[str, list[Any]]] = field(default_factory=dict)

    def spec(self, **kwargs: Any) -> dict[str, Any]:
        return train_spec(self.dataset_id, **kwargs)

    def enqueue(self, spec: dict[str, Any] | None = None, *, max_attempts: int = 3) -> str:
        spec = spec or self.spec()
        job, _ = queue.enqueue(
            self.db,
            tenant_id=self.tenant_id,
            kind="train",
            dataset_id=self.dataset_id,
            spec=spec,
            max_attempts=max_attempts,
            progress_epochs=spec["training"]["epochs"],
        )
        return job.id

    def reference(self, spec: dict[str, Any]) -> str:
        return self.reference_run(spec)[0]

    def reference_run(self, spec: dict[str, Any]) -> tuple[str, list[Any]]:
        key = repr(spec)
        if key not in self._references:
            self._references[key] = reference_run(spec, self.X, self.y)
        return self._references[key]

    def first_difference(self, spec: dict[str, Any], job_id: str) -> str:
        """Where a job's history departs from the reference run's (for failure messages)."""
        _, history = self.reference_run(spec)
        for row, expected in zip(epochs_of(self.db, job_id), history, strict=False):
            if row.metrics["loss"] != expected["loss"]:
                return f"history departs at epoch {row.epoch}: {row.metrics} != {expected}"
        return "histories agree"


# --- reading the database -------------------------------------------------------------------


def job_row(db: Database, job_id: str) -> tables.Job:
    with db.read() as session:
        job = session.get(tables.Job, job_id)
    assert job is not None
    return job


def epochs_of(db: Database, job_id: str) -> list[tables.JobEpoch]:
    with db.read() as session:
        rows = session.scalars(
            select(tables.JobEpoch)
            .where(tables.JobEpoch.job_id == job_id)
            .order_by(tables.JobEpoch.epoch)
        ).all()
    return list(rows)


def checkpoint_epoch(db: Database, job_id: str) -> int | None:
    found = queue.load_checkpoint(db, job_id=job_id)
    return None if found is None else found[0]


def model_of(db: Database, job: tables.Job) -> tables.Model:
    with db.read() as session:
        model = session.get(tables.Model, job.model_id)
    assert model is not None
    return model


def wait_for(
    predicate: Callable[[], Any], *, timeout: float, what: str, interval: float = 0.05
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def wait_status(db: Database, job_id: str, *statuses: str, timeout: float = 60) -> tables.Job:
    job: tables.Job = wait_for(
        lambda: (j := job_row(db, job_id)).status in statuses and j,
        timeout=timeout,
        what=f"job {job_id} to be {'/'.join(statuses)}",
    )
    return job


def wait_progress(db: Database, job_id: str, epoch: int, *, timeout: float = 60) -> tables.Job:
    job: tables.Job = wait_for(
        lambda: (j := job_row(db, job_id)).progress_epoch >= epoch and j,
        timeout=timeout,
        what=f"job {job_id} to reach epoch {epoch}",
    )
    return job


# --- worker processes -----------------------------------------------------------------------


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal_group(self, signum: int) -> None:
        """Signal the worker and its training processes (a paused machine, say)."""
        os.killpg(self.pid, signum)

    def children(self) -> list[int]:
        """Pids of this worker's training processes (from /proc)."""
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            # "pid (comm) state ppid …": comm may hold spaces, so split after its ')'.
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.pid and not _spare(entry, stat):
                found.append(int(entry))
        return found

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout=timeout)


def logs(*workers: WorkerProcess) -> str:
    return "\n".join(f"--- worker {w.pid} ---\n{w.log()}" for w in workers)


def _spare(pid: str, stat: str) -> bool:
    """A training process started ahead of its job and still waiting for one (not training)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    comm = stat.partition("(")[2].rpartition(")")[0]
    return SPARE_FLAG.encode() in command and comm != TRAINING_NAME
