"""What jobs really cost: real jobs through a real `descent worker`, estimate against measurement.

Each `Shape` becomes a stored dataset and a job spec (resolved by the API's own `resolve_spec`,
so every default is the API's). `measure` starts one `descent worker` on the database, queues
the jobs one at a time, and reads each training process's peak resident memory (``VmHWM``,
which the runner logs as it exits: the whole process, baseline included) and its run time.

Re-run after changing the training job's data path, and recalibrate the terms of
`service/specs/estimate.py` from the table it prints:

    PYTHONPATH=$PWD python -m tests.limits.job_memory [sqlite|postgresql://…] [--blas-threads N]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from service import queue, tables
from service.artifacts import encode_dataset
from service.db import Database, connect
from service.ids import new_id
from service.settings import Settings
from service.specs import JobSubmit, estimate, resolve_spec

ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024
PEAK_LINE = re.compile(r"job (job_\w+): peak memory (\d+) bytes")


@dataclass(frozen=True)
class Shape:
    """A dataset and a job on it. ``classes`` 0 means regression on ``targets`` columns."""

    name: str
    rows: int
    features: int
    hidden: tuple[int, ...]
    classes: int = 3
    targets: int = 1
    dtype: str = "float32"
    validation_split: float | None = 0.1
    epochs: int = 2
    batch_size: int = 32
    optimizer: str = "adam"
    restore_best: bool = True

    def body(self, dataset_id: str) -> dict[str, Any]:
        stopping = {"patience": 5, "restore_best": self.restore_best}
        return {
            "dataset_id": dataset_id,
            "network": {"hidden_layers": [{"units": u, "activation": "relu"} for u in self.hidden]},
            "training": {
                "epochs": self.epochs,
                "batch_size": self.batch_size,
                "dtype": self.dtype,
                "optimizer": {"name": self.optimizer},
                "validation_split": self.validation_split,
                "early_stopping": stopping if self.validation_split else None,
            },
            "max_attempts": 1,
        }


@dataclass
class Measurement:
    shape: Shape
    job_id: str
    estimate: dict[str, Any]
    status: str = ""
    peak_rss: int = 0
    seconds: float = 0.0
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        """Estimated memory over measured peak RSS (1 = exact)."""
        return self.estimate["memory_bytes"] / self.peak_rss if self.peak_rss else float("nan")

    def row(self) -> str:
        est = self.estimate
        return (f"{self.shape.name:<24} {est['memory_bytes'] / MB:9.0f} {self.peak_rss / MB:9.0f}"
                f" {self.ratio:6.2f} {est['estimated_seconds']:9.1f} {self.seconds:9.1f}"
                f"  {self.status}{' ' + self.error if self.error else ''}")


HEADER = (f"{'shape':<24} {'est MiB':>9} {'peak MiB':>9} {'ratio':>6} {'est s':>9}"
          f" {'took s':>9}  status")


def synthetic(shape: Shape, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Incompressible features (as most real measurements are) and learnable targets."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(shape.rows, shape.features))
    score = X[:, : min(3, shape.features)].sum(axis=1)
    if shape.classes:
        edges = np.quantile(score, np.linspace(0, 1, shape.classes + 1)[1:-1])
        return X, np.digitize(score, edges).astype(np.int64)
    return X, score[:, None] + rng.normal(size=(shape.rows, shape.targets))


def insert_dataset(db: Database, tenant_id: str, shape: Shape) -> tables.Dataset:
    X, y = synthetic(shape)
    labels = bool(shape.classes)
    row = tables.Dataset(
        id=new_id("ds"), tenant_id=tenant_id, name=shape.name, sha256=new_id("ds").ljust(64, "0"),
        n_rows=shape.rows, n_features=shape.features,
        n_targets=1 if labels else shape.targets,
        target_kind="labels" if labels else "values",
        classes=list(range(shape.classes)) if labels else None,
        size_bytes=X.nbytes + y.nbytes, content=encode_dataset(X, y),
    )
    with db.write() as session:
        session.add(row)
    with db.read() as session:
        stored = session.get(tables.Dataset, row.id)
        assert stored is not None
        session.expunge(stored)
    return stored


def new_tenant(db: Database) -> str:
    tenant_id = new_id("ten")
    with db.write() as session:
        session.add(tables.Tenant(id=tenant_id, name=f"tenant-{tenant_id}"))
    return tenant_id


def start_worker(database_url: str, log_path: Path, **env: str) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "DESCENT_DATABASE_URL": database_url,
        "DESCENT_POLL_SECONDS": "0.2",
        "DESCENT_HEARTBEAT_SECONDS": "1",
        # A checkpoint every epoch, as any job longer than `checkpoint_seconds` writes them:
        # the estimate counts one (a worst case), so the measurement must include one.
        "DESCENT_CHECKPOINT_SECONDS": "0",
        **env,
    }
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "service.cli", "worker"], cwd=ROOT, env=environment,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )


def measure(
    db: Database, shapes: Sequence[Shape], log_dir: Path, *, timeout: float = 300, **env: str
) -> list[Measurement]:
    """Run each shape's job, one at a time, through one real worker; their measurements."""
    tenant_id = new_tenant(db)
    log_path = log_dir / f"worker-{os.getpid()}-{time.monotonic_ns()}.log"
    worker = start_worker(db.url, log_path, **env)
    results = []
    try:
        for shape in shapes:
            dataset = insert_dataset(db, tenant_id, shape)
            # (past the service's depth limit for the deep shape: the model is measured here)
            spec = resolve_spec(JobSubmit.model_validate(shape.body(dataset.id)), dataset,
                                settings=Settings(max_hidden_layers=10**6))
            job, _ = queue.enqueue(db, tenant_id=tenant_id, kind="train", dataset_id=dataset.id,
                                   spec=spec, max_attempts=1,
                                   progress_epochs=spec["training"]["epochs"])
            cost = estimate(spec, dataset, settings=Settings(database_url=db.url))
            result = Measurement(shape, job.id, cost)
            _wait(db, result, log_path, worker, timeout)
            results.append(result)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    return results


# The training process logs its peak as it exits, just after it wrote the job's outcome; the
# supervisor gives that exit 30 s (`worker.leases.EXIT_AFTER_OUTCOME_LIMIT_SECONDS`) before a
# kill, and logs "done" once it has collected it.
PEAK_AFTER_OUTCOME_SECONDS = 60.0


def _wait(db: Database, result: Measurement, log_path: Path, worker: subprocess.Popen[bytes],
          timeout: float) -> None:
    """Until the job has ended and its process has logged its peak (the one comes after the
    other, from two processes); a clear error, soon, when the peak line cannot come."""
    deadline = time.monotonic() + timeout
    ended_at: float | None = None
    while True:
        with db.read() as session:
            job = session.get(tables.Job, result.job_id)
            assert job is not None
            status, error = job.status, job.error_code
            took = (job.finished_at - job.started_at).total_seconds() if job.finished_at else 0
        text = log_path.read_text(errors="replace")
        peaks = dict(PEAK_LINE.findall(text))
        if status in ("succeeded", "failed", "cancelled") and result.job_id in peaks:
            result.status, result.error, result.seconds = status, error, took
            result.peak_rss = int(peaks[result.job_id])
            return
        if status in ("succeeded", "failed", "cancelled") and ended_at is None:
            ended_at = time.monotonic()
        # The supervisor has collected its exit, or killed it ("lease lost; stopping it").
        collected = re.search(rf"job {result.job_id}: (done|lease lost;)", text)
        if ended_at is not None and (
            collected or time.monotonic() - ended_at > PEAK_AFTER_OUTCOME_SECONDS
        ):
            why = (f"its worker logged {collected[0]!r}" if collected
                   else f"not within {PEAK_AFTER_OUTCOME_SECONDS} s")
            raise RuntimeError(f"job {result.job_id} is {status} but its process logged no peak"
                               f" memory ({why}); worker log:\n{text[-4000:]}")
        if worker.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"job {result.job_id} is {status}; worker log:\n{text[-4000:]}")
        time.sleep(0.2)


# Shapes that stress each term: the baseline, the dataset and its copies (float32/float64, with
# and without validation, classification and regression), and the parameters (wide layers).
SHAPES = [
    Shape("small", rows=2_000, features=20, hidden=(64, 32)),
    Shape("rows f32 val", rows=150_000, features=100, hidden=(32,), classes=10,
          validation_split=0.2, epochs=1, batch_size=256),
    Shape("rows f64 regression", rows=100_000, features=120, hidden=(64, 64), classes=0,
          targets=2, dtype="float64", validation_split=None, epochs=1, batch_size=256),
    Shape("rows f64 val 50 cls", rows=60_000, features=200, hidden=(16,), classes=50,
          dtype="float64", validation_split=0.3, epochs=1, batch_size=512),
    Shape("wide f64 adam", rows=500, features=1_000, hidden=(2_048, 1_024), dtype="float64",
          epochs=2, batch_size=100),
    Shape("wide f32 sgd", rows=500, features=2_000, hidden=(4_096,), epochs=2,
          batch_size=100, optimizer="sgd", restore_best=False),
    Shape("deep 10000 layers", rows=150, features=4, hidden=(1,) * 10_000, epochs=1),
]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("database", nargs="?", default="sqlite", help="sqlite, or a PostgreSQL URL")
    p.add_argument("--blas-threads", help="DESCENT_BLAS_THREADS for the worker")
    args = p.parse_args(argv)
    from service.migration import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/descent.db" if args.database == "sqlite" else args.database
        upgrade(url)
        db = connect(url)
        env = {"DESCENT_BLAS_THREADS": args.blas_threads} if args.blas_threads else {}
        try:
            results = measure(db, SHAPES, Path(tmp), **env)
        finally:
            db.dispose()
    print(HEADER)
    for result in results:
        print(result.row())
    return 0


if __name__ == "__main__":
    sys.exit(main())
