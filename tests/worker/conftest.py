"""Fixtures for the worker's tests: a tenant's training dataset (`case`) and real `descent
worker` processes (`start_worker`: own process group, killed at teardown)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from worker_helpers import (
    ROOT,
    WORKER_ENV,
    TrainCase,
    WorkerProcess,
    insert_dataset,
    synthetic_data,
)

from service.db import Database


@pytest.fixture
def case(db: Database, tenant: str) -> TrainCase:
    X, y = synthetic_data()
    return TrainCase(db, tenant, insert_dataset(db, tenant, X, y), X, y)


@pytest.fixture
def start_worker(db: Database, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """A factory: ``start_worker(*args, **env)`` starts ``python -m service.cli worker *args``
    on the test's database, in a process group of its own."""
    started: list[WorkerProcess] = []

    def start(*args: str, database_url: str | None = None, **env: str) -> WorkerProcess:
        log_path = tmp_path / f"worker-{len(started)}.log"
        environment = {
            **os.environ,
            **WORKER_ENV,
            "DESCENT_DATABASE_URL": database_url or db.url,
            **env,
        }
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "service.cli", "worker", *args],
                cwd=ROOT,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        worker = WorkerProcess(process, log_path)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        for signum in (signal.SIGCONT, signal.SIGKILL):
            try:
                os.killpg(worker.pid, signum)
            except ProcessLookupError:
                pass
        worker.process.wait()
