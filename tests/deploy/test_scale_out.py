"""Scale-out on one PostgreSQL: 2 API processes, 3 worker processes, 60 jobs, one worker killed.

Every job succeeds and is claimed exactly once, except the job the killed worker was training,
which is claimed a second time once its (short) lease expires; no job has two models or two
history rows for one epoch; both APIs see every job.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from deploy_helpers import FINAL, Api, Processes, descent_executable, tiny_dataset
from sqlalchemy import Engine, create_engine, text

from service.db import normalize_url
from tests.processes import free_port

pytestmark = [pytest.mark.system, pytest.mark.slow, pytest.mark.postgres]

BOOTSTRAP_KEY = "dsk_test_scale_out_0123456789abcdef"
N_APIS = 2
N_WORKERS = 3
N_JOBS = 60


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    """A direct connection to the test database, to see what the API does not show."""
    engine = create_engine(normalize_url(postgres_url))
    yield engine
    engine.dispose()


def _environment(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESCENT_")}
    env.update(
        DESCENT_DATABASE_URL=database_url,
        DESCENT_BOOTSTRAP_KEY=BOOTSTRAP_KEY,  # the same key for both APIs
        # A short lease, so the killed worker's job comes back within seconds.
        DESCENT_LEASE_SECONDS="3",
        DESCENT_HEARTBEAT_SECONDS="0.5",
        DESCENT_POLL_SECONDS="0.2",
        DESCENT_GRACE_SECONDS="5",
        DESCENT_BLAS_THREADS="1",
    )
    return env


def _until(what: str, check: Any, timeout: float, processes: Processes) -> Any:
    """Call ``check()`` until it returns something truthy; fail with the logs after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} after {timeout} s\n{processes.logs()}")
        time.sleep(0.1)
    return found


def _final_jobs(apis: list[Api], ids: list[str], turn: list[int]) -> dict[str, dict[str, Any]]:
    """All jobs by id when every one is final (else {}), asking the APIs in turn."""
    turn[0] += 1
    jobs = {job["id"]: job for job in apis[turn[0] % len(apis)].list_jobs()}
    return jobs if all(jobs.get(i, {}).get("status") in FINAL for i in ids) else {}


def _running_owned_by(engine: Engine, owner: str | None = None) -> Any:
    """(job id, lease owner) of a running job, or None.

    With ``owner``: a job of that owner that has not finished an epoch yet, so that it is still
    training, not finishing, when the test acts on it a moment later.
    """
    query = "SELECT id, lease_owner FROM jobs WHERE status = 'running'"
    if owner:
        query += " AND lease_owner = :owner AND progress_epoch = 0"
    else:
        query += " AND lease_owner IS NOT NULL"
    with engine.connect() as conn:
        return conn.execute(text(query + " LIMIT 1"), {"owner": owner}).first()


def test_two_apis_three_workers_sixty_jobs_one_worker_killed(
    postgres_url: str, processes: Processes, engine: Engine
) -> None:
    descent = descent_executable()
    env = _environment(postgres_url)
    migrate = subprocess.run([*descent, "migrate"], env=env, capture_output=True, text=True)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr

    apis: list[Api] = []
    for n in range(N_APIS):
        port = free_port()
        argv = [*descent, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "0"]
        process = processes.start(f"api{n}", argv, env)
        apis.append(processes.api(port, BOOTSTRAP_KEY))
        apis[-1].wait_ready(process, processes, f"api{n}")

    # The tiny dataset's 24 rows repeated: an epoch of a few hundred ms, so that a running job
    # (and one that has not finished its first epoch) is seen between two polls — a job on 24
    # rows ends in ~40 ms since training processes are forked warm.
    features, targets = (part * 1500 for part in tiny_dataset())
    dataset = apis[0].upload_dataset(features, targets)
    # The same content through the other API is the same dataset.
    assert apis[1].upload_dataset(features, targets)["id"] == dataset["id"]

    def submit(n: int) -> tuple[str, int]:
        n_epochs = 1 + n % 3
        spec = {
            "dataset_id": dataset["id"],
            "network": {"hidden_layers": [{"units": 4, "activation": "tanh"}]},
            "training": {"epochs": n_epochs, "batch_size": 4, "seed": n},
        }
        return apis[n % N_APIS].submit_job(spec)["id"], n_epochs

    # Worker 0 starts alone, so the first job it claims tells its lease owner (uuid) apart.
    worker_argv = [*descent, "worker", "--concurrency", "1"]
    workers = [processes.start("worker0", worker_argv, env)]
    epochs = dict(submit(n) for n in range(3))
    _, victim_owner = _until("claim by worker0", lambda: _running_owned_by(engine), 60, processes)
    workers += [processes.start(f"worker{n}", worker_argv, env) for n in range(1, N_WORKERS)]
    epochs.update(submit(n) for n in range(3, N_JOBS))
    ids = list(epochs)
    assert len(set(ids)) == N_JOBS

    # Kill worker 0 (and its training process) while it trains a job, a fifth of the way in.
    _until("fifth of the jobs done", lambda: _done(engine) >= N_JOBS // 5, 180, processes)
    victim, _ = _until(
        "job of worker0", lambda: _running_owned_by(engine, victim_owner), 60, processes
    )
    assert workers[0].poll() is None, processes.log("worker0")
    processes.kill9("worker0")
    killed_at = dt.datetime.now(dt.UTC)

    turn = [0]
    jobs = _until("end of all jobs", lambda: _final_jobs(apis, ids, turn), 300, processes)
    for n, worker in enumerate(workers[1:], start=1):
        assert worker.poll() is None, f"worker{n} exited:\n{processes.log(f'worker{n}')}"

    failed = {i: job for i, job in jobs.items() if job["status"] != "succeeded"}
    assert not failed, f"{failed}\n{processes.logs()}"
    # Claimed exactly once, except the killed worker's job: claimed again after its lease expired
    # (unless it finished in the instant between our look and the kill).
    attempts = {i: job["attempts"] for i, job in jobs.items()}
    assert Counter(a for i, a in attempts.items() if i != victim) == {1: N_JOBS - 1}
    victim_finished = dt.datetime.fromisoformat(jobs[victim]["finished_at"].replace("Z", "+00:00"))
    assert attempts[victim] == 2 or victim_finished <= killed_at, jobs[victim]
    model_ids = [job["model_id"] for job in jobs.values()]
    assert all(model_ids) and len(set(model_ids)) == N_JOBS

    # Each API sees every job, and the same state of it.
    for api in apis:
        listed = [job["id"] for job in api.list_jobs()]
        assert sorted(listed) == sorted(ids)
    for n, job_id in enumerate(ids):
        other = apis[(n + 1) % N_APIS].job(job_id)
        assert (other["status"], other["model_id"]) == ("succeeded", jobs[job_id]["model_id"])
        history = apis[n % N_APIS].history(job_id)
        assert [row["epoch"] for row in history] == list(range(1, epochs[job_id] + 1))

    # And in the database: one model per job, one history row per (job, epoch).
    with engine.connect() as conn:
        models = conn.execute(text("SELECT job_id, count(*) FROM models GROUP BY job_id")).all()
        assert sorted(models) == sorted((job_id, 1) for job_id in ids)
        repeated = conn.execute(
            text("SELECT job_id, epoch FROM job_epochs GROUP BY job_id, epoch HAVING count(*) > 1")
        ).all()
        assert repeated == []
        rows = conn.execute(text("SELECT count(*) FROM job_epochs")).scalar()
        assert rows == sum(epochs.values())


def _done(engine: Engine) -> int:
    with engine.connect() as conn:
        finished = conn.execute(text("SELECT count(*) FROM jobs WHERE status = 'succeeded'"))
        return int(finished.scalar() or 0)
