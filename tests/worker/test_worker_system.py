"""Real `descent worker` processes against a real database: crashes, shutdowns, stalls, cancels.

Every interrupted job must end with exactly the weights of an uninterrupted run (computed here
straight through the engine) and one history row per epoch. Timings: lease 2 s, heartbeat
0.3 s, checkpoints every 0.3 s (see `worker_helpers.WORKER_ENV`). Training outruns the database:
a 100-epoch job trains in under a second and its epoch rows, written behind it, arrive up to
seconds later on a loaded machine — so a job to be interrupted after some epoch is slowed
(``INTERRUPTED``) and a job to be cancelled or killed is one that cannot end (``ENDLESS``).
"""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import pytest
from worker_helpers import (
    ROOT,
    TrainCase,
    WorkerProcess,
    checkpoint_epoch,
    epochs_of,
    job_row,
    logs,
    model_of,
    wait_for,
    wait_progress,
    wait_status,
)

from service import queue, tables
from service.db import Database

pytestmark = [pytest.mark.slow, pytest.mark.system]

StartWorker = Callable[..., WorkerProcess]
EPOCHS = 100
# Small batches: ~20 ms an epoch (2 s a job) on an idle core, slower than its rows are written.
INTERRUPTED = {"batch_size": 4}
ENDLESS = 100_000  # with early stopping off (patience 1000 ends a small job in seconds)
# A takeover needs a new worker process started (imports, a spare training process) and the
# lease expired; on a loaded machine (a second suite beside this one) that took over 30 s.
TAKEOVER_SECONDS = 240.0


def assert_finished_like_an_uninterrupted_run(
    case: TrainCase, job_id: str, spec: dict[str, object], *workers: WorkerProcess
) -> tables.Job:
    job = wait_status(case.db, job_id, "succeeded", "failed", "cancelled",
                      timeout=TAKEOVER_SECONDS)
    assert job.status == "succeeded", (job.error_code, job.error_message, logs(*workers))
    if model_of(case.db, job).weights_sha256 != case.reference(spec):
        pytest.fail(f"weights differ; {case.first_difference(spec, job_id)}\n{logs(*workers)}")
    assert [row.epoch for row in epochs_of(case.db, job_id)] == list(range(1, EPOCHS + 1))
    return job


def assert_resumed_from_checkpoint(
    case: TrainCase, job_id: str, checkpointed: int, interrupted_at: float
) -> None:
    """Epochs up to the checkpoint were not run again (their rows predate the interruption)."""
    rows = {row.epoch: row for row in epochs_of(case.db, job_id)}
    assert all(rows[e].created_at.timestamp() < interrupted_at for e in range(1, checkpointed + 1))
    assert rows[EPOCHS].created_at.timestamp() > interrupted_at


def test_uninterrupted_job_and_a_predict_job(case: TrainCase, start_worker: StartWorker) -> None:
    spec = case.spec()
    job_id = case.enqueue(spec)
    worker = start_worker("--concurrency", "2")
    job = assert_finished_like_an_uninterrupted_run(case, job_id, spec, worker)
    assert job.attempts == 1

    predict, _ = queue.enqueue(
        case.db,
        tenant_id=case.tenant_id,
        kind="predict",
        dataset_id=case.dataset_id,
        model_id=job.model_id,
        spec={"model_id": job.model_id, "dataset_id": case.dataset_id},
    )
    done = wait_status(case.db, predict.id, "succeeded", "failed", timeout=60)
    assert done.status == "succeeded" and done.prediction_id, logs(worker)

    worker.process.send_signal(signal.SIGTERM)  # idle: exits at once
    assert worker.wait(timeout=10) == 0


def test_killed_worker_job_resumes_from_checkpoint(
    case: TrainCase, start_worker: StartWorker
) -> None:
    spec = case.spec(**INTERRUPTED)
    job_id = case.enqueue(spec)
    first = start_worker()
    # A checkpoint is queued every 0.3 s of training and written behind the epoch rows before
    # it, so no epoch count guarantees one: wait for the row itself.
    checkpointed = wait_for(lambda: checkpoint_epoch(case.db, job_id), timeout=TAKEOVER_SECONDS,
                            what="a checkpoint", interval=0.01)
    children = first.children()
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    killed_at = time.time()
    assert job_row(case.db, job_id).status == "running", logs(first)  # killed mid-job
    # Its training process dies with it (PR_SET_PDEATHSIG): nothing keeps writing.
    wait_for(lambda: not any(_alive(pid) for pid in children), timeout=30, what="child to die")

    second = start_worker()
    job = assert_finished_like_an_uninterrupted_run(case, job_id, spec, first, second)
    assert job.attempts == 2
    assert_resumed_from_checkpoint(case, job_id, checkpointed, killed_at)


def test_sigterm_releases_the_job_without_spending_an_attempt(
    case: TrainCase, start_worker: StartWorker
) -> None:
    spec = case.spec(**INTERRUPTED)
    job_id = case.enqueue(spec)
    first = start_worker()
    wait_progress(case.db, job_id, 30)
    stopped_at = time.time()
    first.process.send_signal(signal.SIGTERM)
    assert first.wait(timeout=10) == 0, logs(first)  # within grace_seconds
    assert time.time() - stopped_at < 5
    released_at = time.time()

    job = job_row(case.db, job_id)
    assert (job.status, job.attempts, job.lease_token) == ("queued", 0, None), logs(first)
    checkpointed = checkpoint_epoch(case.db, job_id)
    assert checkpointed is not None and checkpointed == job.progress_epoch

    second = start_worker()
    job = assert_finished_like_an_uninterrupted_run(case, job_id, spec, first, second)
    assert job.attempts == 1
    assert_resumed_from_checkpoint(case, job_id, checkpointed, released_at)


def test_second_sigterm_exits_at_once(case: TrainCase, start_worker: StartWorker) -> None:
    job_id = case.enqueue(case.spec(epochs=ENDLESS, early_stopping=None))
    worker = start_worker(DESCENT_GRACE_SECONDS="60")
    wait_progress(case.db, job_id, 2)
    children = job_processes(worker)
    for pid in children:  # a training process too busy to stop within the grace period
        os.kill(pid, signal.SIGSTOP)
    worker.process.send_signal(signal.SIGTERM)
    time.sleep(1.0)
    assert worker.process.poll() is None  # waiting for its job to checkpoint
    worker.process.send_signal(signal.SIGTERM)
    # (well within the 60 s grace it would otherwise wait out, even on a loaded machine)
    assert worker.wait(timeout=30) == 128 + signal.SIGTERM
    wait_for(lambda: not any(_alive(pid) for pid in children), timeout=30, what="child to die")
    # Nothing was released: the job is still leased and comes back when the lease expires.
    job = job_row(case.db, job_id)
    assert (job.status, job.attempts) == ("running", 1)


def test_stalled_worker_writes_nothing_after_losing_its_lease(
    case: TrainCase, start_worker: StartWorker
) -> None:
    spec = case.spec(**INTERRUPTED)
    job_id = case.enqueue(spec)
    zombie = start_worker()
    wait_progress(case.db, job_id, 20, timeout=TAKEOVER_SECONDS)
    first_owner = job_row(case.db, job_id).lease_owner
    pause_outside_a_write(case.db, zombie)  # the whole machine pauses past its lease

    second = start_worker()
    wait_for(
        lambda: (j := job_row(case.db, job_id)).lease_owner not in (None, first_owner) and j,
        timeout=TAKEOVER_SECONDS,
        what="another worker to take the job",
    )
    resumed_from = job_row(case.db, job_id).progress_epoch
    wait_progress(case.db, job_id, resumed_from + 5, timeout=TAKEOVER_SECONDS)
    zombie.signal_group(signal.SIGCONT)

    job = assert_finished_like_an_uninterrupted_run(case, job_id, spec, zombie, second)
    assert job.attempts == 2
    wait_for(lambda: "lease lost" in zombie.log(), timeout=TAKEOVER_SECONDS,
             what="the zombie to notice")
    assert zombie.process.poll() is None  # it lives on as a healthy, idle worker


def pause_outside_a_write(db: Database, worker: WorkerProcess) -> None:
    """SIGSTOP the worker's process group. On PostgreSQL at any moment: a transaction it leaves
    open is ended by the server after a lease (`bound_stalled_transactions`). On SQLite, only
    at a moment it holds no write lock: a stalled process holding SQLite's one write lock stalls
    every process on the host (SQLite's design; the scale-out path is PostgreSQL)."""
    for _ in range(50):
        worker.signal_group(signal.SIGSTOP)
        if not db.is_sqlite or _sqlite_writable(db):
            return
        worker.signal_group(signal.SIGCONT)
        time.sleep(random.uniform(0.01, 0.1))
    raise AssertionError("the worker always held the SQLite write lock")


def _sqlite_writable(db: Database) -> bool:
    path = db.url.split("///", 1)[1]
    conn = sqlite3.connect(path, timeout=0.2, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()


def test_cancel_queued_job_never_runs(case: TrainCase, start_worker: StartWorker) -> None:
    job_id = case.enqueue()
    assert queue.request_cancel(case.db, tenant_id=case.tenant_id, job_id=job_id) == "cancelled"
    other = case.enqueue(case.spec(epochs=3))
    start_worker()
    wait_status(case.db, other, "succeeded", timeout=60)
    job = job_row(case.db, job_id)
    assert (job.status, job.attempts, job.started_at) == ("cancelled", 0, None)


def test_cancel_running_job_within_one_heartbeat(
    case: TrainCase, start_worker: StartWorker
) -> None:
    job_id = case.enqueue(case.spec(epochs=ENDLESS, early_stopping=None))
    worker = start_worker()
    wait_progress(case.db, job_id, 3)
    asked = time.monotonic()
    assert queue.request_cancel(case.db, tenant_id=case.tenant_id, job_id=job_id) == "running"
    job = wait_status(case.db, job_id, "cancelled", "succeeded", "failed", timeout=10)
    took = time.monotonic() - asked
    assert job.status == "cancelled", logs(worker)
    assert took < 0.3 + 1.0, f"cancelled after {took:.2f}s"  # one heartbeat, plus slack
    # The training process is gone: no epoch is written after the cancel.
    written = len(epochs_of(case.db, job_id))
    time.sleep(0.5)
    assert len(epochs_of(case.db, job_id)) == written
    assert job_row(case.db, job_id).attempts == 1


def test_job_whose_process_always_dies_fails_worker_lost_after_retries(
    case: TrainCase, start_worker: StartWorker
) -> None:
    """The test plays the kernel's OOM killer: every training process of this worker gets
    SIGKILL shortly after it starts. Retries wait out the queue's backoff (2 s, then 4 s, ±25 %).
    The job is far too long to finish first, however slowly the killer gets to it."""
    job_id = case.enqueue(case.spec(epochs=ENDLESS, early_stopping=None), max_attempts=3)
    worker = start_worker()
    kills: list[tuple[float, float]] = []  # (first seen, killed) per training process
    done = threading.Event()

    def oom_killer() -> None:
        seen: dict[int, float] = {}
        while not done.is_set():
            for pid in job_processes(worker):
                first = seen.setdefault(pid, time.monotonic())
                if time.monotonic() - first > 0.5:
                    os.kill(pid, signal.SIGKILL)
                    kills.append((first, time.monotonic()))
                    seen[pid] = float("inf")
            time.sleep(0.02)

    killer = threading.Thread(target=oom_killer, daemon=True)
    killer.start()
    try:
        job = wait_status(case.db, job_id, "failed", "succeeded", timeout=TAKEOVER_SECONDS)
    finally:
        done.set()
        killer.join()
    assert (job.status, job.error_code, job.attempts) == ("failed", "WORKER_LOST", 3), logs(worker)
    assert "SIGKILL" in (job.error_message or "")
    assert len(kills) == 3
    # Attempt n+1 starts no sooner than the backoff after attempt n died.
    for (_, killed), (started, _), backoff in zip(kills, kills[1:], (2.0, 4.0), strict=False):
        assert started - killed > backoff * 0.75 - 0.1


def test_refuses_to_start_on_a_database_that_is_behind(empty_db: Database) -> None:
    with empty_db.engine.connect():  # the database exists (a missing SQLite file is refused
        pass  # sooner: tests/system/test_database_home.py), with no schema
    env = {**os.environ, "DESCENT_DATABASE_URL": empty_db.url}
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "worker"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "descent migrate" in result.stderr
    assert "empty" in result.stderr


def test_heartbeats_keep_a_long_job_from_other_workers(
    case: TrainCase, start_worker: StartWorker
) -> None:
    lease = 1.5
    timings = {"DESCENT_LEASE_SECONDS": str(lease)}
    job_id = case.enqueue(case.spec(epochs=ENDLESS, early_stopping=None))
    first = start_worker(**timings)
    second = start_worker(**timings)
    running = wait_status(case.db, job_id, "running", timeout=30)
    owner, token = running.lease_owner, running.lease_token
    time.sleep(3 * lease + 0.5)
    job = job_row(case.db, job_id)
    assert (job.status, job.attempts) == ("running", 1), logs(first, second)
    assert (job.lease_owner, job.lease_token) == (owner, token)
    queue.request_cancel(case.db, tenant_id=case.tenant_id, job_id=job_id)
    assert wait_status(case.db, job_id, "cancelled", timeout=60).attempts == 1


def job_processes(worker: WorkerProcess) -> list[int]:
    """The live training processes that took a job (as the worker's log names them; a process
    the supervisor may start ahead of its job is not one of them until it gets one)."""
    pids = {int(pid) for pid in re.findall(r"started in process (\d+)", worker.log())}
    return sorted(pid for pid in pids if pid in worker.children() and _alive(pid))


def _alive(pid: int) -> bool:
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
