"""Honest claims over real HTTP (issue 11, item 8): a job's attempts are on record — a worker
that dies leaves `WORKER_LOST` on its attempt —, a job that succeeds logs no lost lease, and a
diverged job's error names the likely cause."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from served import ROOT, Served, serve

from descent import Client

pytestmark = [pytest.mark.system, pytest.mark.slow]

QUICK = {"DESCENT_LEASE_SECONDS": "2", "DESCENT_HEARTBEAT_SECONDS": "0.1",
         "DESCENT_CHECKPOINT_SECONDS": "0.2"}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[httpx.Client, Served]]:
    with serve(tmp_path, workers=1, **QUICK) as served, httpx.Client(
        base_url=served.url, headers=served.headers, timeout=30
    ) as c:
        yield c, served


def _upload(client: httpx.Client, offset: float = 0.0) -> str:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = X @ np.array([3.0, -2.0, 1.0, 0.5]) + offset + rng.normal(scale=0.1, size=300)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["a", "b", "c", "d", "y"])
    writer.writerows([*row, target] for row, target in zip(X, y, strict=True))
    answer = client.post("/v1/datasets", files={"file": ("data.csv", out.getvalue().encode())},
                         data={"target": "y"})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def _submit(client: httpx.Client, dataset_id: str, training: dict[str, Any]) -> str:
    body = {"dataset_id": dataset_id, "task": "regression",
            "network": {"hidden_layers": [{"units": 16, "activation": "tanh"}]},
            "training": training}
    answer = client.post("/v1/jobs", json=body)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


def _wait(client: httpx.Client, job_id: str, until: Any, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
        if until(job):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


def _final(job: dict[str, Any]) -> bool:
    return job["status"] in ("succeeded", "failed", "cancelled")


def _attempts(client: httpx.Client, job_id: str) -> list[dict[str, Any]]:
    answer = client.get(f"/v1/jobs/{job_id}/attempts")
    assert answer.status_code == 200, answer.text
    return list(answer.json()["data"])


def test_a_successful_job_has_one_attempt_and_logs_no_lost_lease(
    client: tuple[httpx.Client, Served],
) -> None:
    c, served = client
    dataset_id = _upload(c)
    for _ in range(3):  # heartbeats every 0.1 s: some land between outcome and exit
        job_id = _submit(c, dataset_id, {"epochs": 5})
        job = _wait(c, job_id, _final)
        assert job["status"] == "succeeded", job
        [attempt] = _attempts(c, job_id)
        assert (attempt["attempt"], attempt["outcome"], attempt["error"]) == (1, "succeeded", None)
        assert attempt["worker"] and attempt["ended_at"] >= attempt["started_at"]
    assert "lease lost" not in served.log.read_text()
    assert c.get("/v1/jobs/job_00000000000000000000000000/attempts").status_code == 404


def test_a_diverged_job_names_the_likely_cause(client: tuple[httpx.Client, Served]) -> None:
    c, _ = client
    dataset_id = _upload(c, offset=1e4)
    job_id = _submit(c, dataset_id, {
        "epochs": 20, "optimizer": {"name": "sgd", "learning_rate": 1000.0}})
    job = _wait(c, job_id, _final)
    assert job["status"] == "failed" and job["error"]["code"] == "DIVERGED", job
    assert "Likely cause" in job["error"]["message"]
    assert "learning rate 1000 is high for sgd" in job["error"]["message"], job["error"]


def _embedded_worker(serve_pid: int) -> int:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                command = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == serve_pid and b"worker" in command:
                return int(entry)
    raise AssertionError("no embedded worker")


def test_a_dead_worker_leaves_worker_lost_on_its_attempt(
    client: tuple[httpx.Client, Served], tmp_path: Path,
) -> None:
    c, served = client
    dataset_id = _upload(c)
    job_id = _submit(c, dataset_id, {"epochs": 400, "batch_size": 8, "early_stopping": None})
    _wait(c, job_id, lambda job: job["progress"]["epoch"] >= 5)
    os.kill(_embedded_worker(served.process.pid), signal.SIGKILL)  # its training process too

    # Another worker on the same database takes the job back once the lease expires.
    env = {**os.environ, **QUICK, "DESCENT_BLAS_THREADS": "1",
           "DESCENT_DATABASE_URL": f"sqlite:///{tmp_path / 'descent.db'}"}
    with open(tmp_path / "worker.log", "wb") as log:
        other = subprocess.Popen([sys.executable, "-m", "service.cli", "worker"], cwd=ROOT,
                                 env=env, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True)
    try:
        job = _wait(c, job_id, _final, timeout=180)
    finally:
        other.send_signal(signal.SIGTERM)
        other.wait(timeout=30)
    assert job["status"] == "succeeded" and job["attempts"] == 2, job
    lost, done = _attempts(c, job_id)
    assert (lost["attempt"], lost["outcome"], lost["error"]["code"]) == (1, "failed", "WORKER_LOST")
    assert "lease expired" in lost["error"]["message"] and lost["ended_at"]
    assert (done["attempt"], done["outcome"]) == (2, "succeeded")
    assert done["worker"] != lost["worker"]
    with Client(served.url, served.key) as sdk:  # the SDK reads the same
        assert [a["outcome"] for a in sdk.attempts(job_id)] == ["failed", "succeeded"]
