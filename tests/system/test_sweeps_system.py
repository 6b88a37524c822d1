"""A sweep over real HTTP (issue 13): a 12-trial random sweep on scikit-learn's digits with
parallelism 2 over two worker processes ends with exactly 12 trials — none sampled or run
twice — and a best model with validation accuracy ≥ 0.95, although one worker is killed
(SIGKILL, with its training process) while both run a trial."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from served import ROOT, serve
from sklearn.datasets import load_digits

from descent import Client

pytestmark = [pytest.mark.system, pytest.mark.slow]

QUICK = {"DESCENT_LEASE_SECONDS": "2", "DESCENT_HEARTBEAT_SECONDS": "0.2",
         "DESCENT_CHECKPOINT_SECONDS": "0.2", "DESCENT_POLL_SECONDS": "0.2",
         "DESCENT_BLAS_THREADS": "1"}

SPACE = {
    "training.optimizer.learning_rate": {"log_uniform": [3e-3, 3e-2]},
    "network.hidden_layers.0.units": {"choice": [32, 64]},
    "training.batch_size": {"int": [16, 48]},
}
BASE = {"network": {"hidden_layers": [{"units": 32, "activation": "relu"}]},
        # Long enough (~0.5 s a trial on a quiet machine) that two trials are seen running:
        # with the warm template a 20-epoch trial ends before a poll sees it start.
        "training": {"epochs": 200, "validation_split": 0.2, "early_stopping": None}}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'descent.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def start_worker(url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, **QUICK, "DESCENT_DATABASE_URL": url}
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "service.cli", "worker"], cwd=ROOT,
                                env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # its own group: kill -9 takes it all


@pytest.fixture
def workers(database: str, tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)


def until(condition: Any, what: str, timeout: float = 240) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value


def test_a_sweep_survives_a_killed_worker(database: str, tmp_path: Path,
                                          workers: list[subprocess.Popen[bytes]]) -> None:
    with serve(tmp_path, workers=0, DESCENT_DATABASE_URL=database, **QUICK) as served, \
            Client(served.url, served.key) as client:
        X, y = load_digits(return_X_y=True)
        dataset = client.upload_dataset(X, y, name="digits")
        workers += [start_worker(database, tmp_path / f"worker{i}.log") for i in range(2)]
        sweep = client.create_sweep(
            dataset_id=dataset.id, base=BASE, space=SPACE, method="random", max_trials=12,
            parallelism=2, metric={"name": "val_loss", "goal": "minimize"}, seed=7)

        def both_running() -> bool:
            trials = client.sweep_trials(sweep.id)
            running = [t for t in trials if t.status == "running" and t.epochs >= 2]
            return len(running) == 2 and len([t for t in trials if t.status == "succeeded"]) >= 3

        until(both_running, "two trials running, three done")
        os.killpg(workers[0].pid, signal.SIGKILL)  # one runs on each worker: one is lost
        workers[0].wait()

        done = client.wait(sweep.id, timeout=300, poll_interval=0.2)
        assert done.status == "succeeded", done
        trials = client.sweep_trials(sweep.id, sort="value")
        assert done.trials_sampled == 12 and len(trials) == 12
        assert done.counts["succeeded"] == 12, done.counts
        assert len({repr(sorted(t.params.items())) for t in trials}) == 12  # sampled once each
        assert len({t.job_id for t in trials}) == 12
        attempts = {t.job_id: [a["outcome"] for a in client.attempts(t.job_id)] for t in trials}
        assert all(a[-1] == "succeeded" for a in attempts.values()), attempts
        assert ["failed", "succeeded"] in attempts.values(), attempts  # the killed one, resumed
        assert done.best is not None and done.best.number == trials[0].number
        model = client.get_model(done.model_id or "")
        assert model.metrics is not None and model.metrics["val_accuracy"] >= 0.95, model.metrics
        losses = [t.value for t in trials]
        assert losses == sorted(losses)  # type: ignore[type-var]
