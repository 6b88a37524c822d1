"""Scale-out on one PostgreSQL: 2 API processes, 3 worker processes, 60 jobs, one worker killed.

Every job succeeds and is claimed once (the job the killed worker held, at most one since it ran
one at a time, is claimed a second time after its short lease expires); no job has two models or
two history rows for one epoch; both APIs see every job.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections import Counter
from typing import Any

import pytest
from deploy_helpers import FINAL, Api, Processes, descent_executable, free_port, tiny_dataset
from sqlalchemy import create_engine, text

from service.db import normalize_url

pytestmark = [pytest.mark.system, pytest.mark.slow, pytest.mark.postgres]

BOOTSTRAP_KEY = "dsk_test_scale_out_0123456789abcdef"
N_JOBS = 60
N_WORKERS = 3
WORKER_CONCURRENCY = 1


def _environment(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESCENT_")}
    env.update(
        DESCENT_DATABASE_URL=database_url,
        DESCENT_BOOTSTRAP_KEY=BOOTSTRAP_KEY,
        # A short lease, so the killed worker's job comes back within seconds.
        DESCENT_LEASE_SECONDS="3",
        DESCENT_HEARTBEAT_SECONDS="0.5",
        DESCENT_POLL_SECONDS="0.2",
        DESCENT_GRACE_SECONDS="5",
        DESCENT_BLAS_THREADS="1",
    )
    return env


def _wait_for(
    apis: list[Api], ids: list[str], done: int, timeout: float, processes: Processes
) -> dict[str, dict[str, Any]]:
    """Poll (through the APIs in turn) until ``done`` of the jobs are final; the jobs by id."""
    deadline = time.monotonic() + timeout
    turn = 0
    while True:
        jobs = {job["id"]: job for job in apis[turn % len(apis)].list_jobs() if job["id"] in ids}
        finished = sum(job["status"] in FINAL for job in jobs.values())
        if finished >= done:
            return jobs
        if time.monotonic() > deadline:
            statuses = Counter(job["status"] for job in jobs.values())
            raise AssertionError(f"{finished}/{done} final after {timeout} s: {statuses}\n"
                                 f"{processes.logs()}")  # fmt: skip
        turn += 1
        time.sleep(0.5)


def test_two_apis_three_workers_sixty_jobs_one_worker_killed(
    postgres_url: str, processes: Processes
) -> None:
    descent = descent_executable()
    env = _environment(postgres_url)
    migrate = subprocess.run([*descent, "migrate"], env=env, capture_output=True, text=True)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr

    apis: list[Api] = []
    for n in range(2):
        port = free_port()
        argv = [*descent, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "0"]
        process = processes.start(f"api{n}", argv, env)
        api = Api(f"http://127.0.0.1:{port}", BOOTSTRAP_KEY)
        api.wait_ready(process, processes, f"api{n}")
        apis.append(api)
    workers = [
        processes.start(
            f"worker{n}", [*descent, "worker", "--concurrency", str(WORKER_CONCURRENCY)], env
        )
        for n in range(N_WORKERS)
    ]

    features, targets = tiny_dataset()
    dataset = apis[0].upload_dataset(features, targets)
    # The same content through the other API is the same dataset.
    assert apis[1].upload_dataset(features, targets)["id"] == dataset["id"]

    epochs: dict[str, int] = {}
    for n in range(N_JOBS):
        n_epochs = 1 + n % 3
        spec = {
            "dataset_id": dataset["id"],
            "network": {"hidden_layers": [{"units": 4, "activation": "tanh"}]},
            "training": {"epochs": n_epochs, "batch_size": 8, "seed": n},
        }
        job = apis[n % 2].submit_job(spec)
        epochs[job["id"]] = n_epochs
    ids = list(epochs)
    assert len(set(ids)) == N_JOBS

    # Kill one worker (and its training process) with work still queued.
    _wait_for(apis, ids, done=N_JOBS // 5, timeout=180, processes=processes)
    assert workers[0].poll() is None, processes.log("worker0")
    processes.kill9("worker0")

    jobs = _wait_for(apis, ids, done=N_JOBS, timeout=300, processes=processes)
    for n, worker in enumerate(workers[1:], start=1):
        assert worker.poll() is None, f"worker{n} exited:\n{processes.log(f'worker{n}')}"

    failed = {i: job for i, job in jobs.items() if job["status"] != "succeeded"}
    assert not failed, f"{failed}\n{processes.logs()}"
    attempts = Counter(job["attempts"] for job in jobs.values())
    assert set(attempts) <= {1, 2}, attempts
    # Claimed exactly once, except what the killed worker held (one job at a time).
    assert attempts[2] <= WORKER_CONCURRENCY, attempts
    model_ids = [job["model_id"] for job in jobs.values()]
    assert all(model_ids) and len(set(model_ids)) == N_JOBS

    # Each API sees every job, and the same state of it.
    for api in apis:
        listed = [job["id"] for job in api.list_jobs()]
        assert sorted(listed) == sorted(ids)
    for n, job_id in enumerate(ids):
        other = apis[(n + 1) % 2].job(job_id)
        assert (other["status"], other["model_id"]) == ("succeeded", jobs[job_id]["model_id"])
        history = apis[n % 2].history(job_id)
        assert [row["epoch"] for row in history] == list(range(1, epochs[job_id] + 1))

    # And in the database: one model per job, one history row per (job, epoch).
    engine = create_engine(normalize_url(postgres_url))
    try:
        with engine.connect() as conn:
            per_job = conn.execute(
                text("SELECT job_id, count(*) FROM models GROUP BY job_id HAVING count(*) > 1")
            ).all()
            assert per_job == []
            assert conn.execute(text("SELECT count(*) FROM models")).scalar() == N_JOBS
            duplicated = conn.execute(
                text(
                    "SELECT job_id, epoch, count(*) FROM job_epochs"
                    " GROUP BY job_id, epoch HAVING count(*) > 1"
                )
            ).all()
            assert duplicated == []
            rows = conn.execute(text("SELECT count(*) FROM job_epochs")).scalar()
            assert rows == sum(epochs.values())
    finally:
        engine.dispose()
