"""Running out of memory or time: ``RESOURCE_LIMIT`` once, never retried (other errors keep their
retries) — in the training process's `run_and_report`, and in the supervisor's `Children` for an
exit it could not report and for a process past its time."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from typing import Any

import pytest
from worker_helpers import TrainCase, job_row

from service import queue
from service.db import Database
from service.queue import ClaimedJob
from worker.children import Children
from worker.jobs import JobContext
from worker.memory import memory_limit_message, out_of_memory
from worker.runner import EXIT_OUT_OF_MEMORY, RESOURCE_LIMIT, run_and_report

MiB = 1024 * 1024


def claim(db: Database) -> ClaimedJob:
    job = queue.claim_next_job(db, worker_id=str(uuid.uuid4()), lease_seconds=60)
    assert job is not None
    return job


def raising(error: BaseException) -> Any:
    def run_job(ctx: JobContext) -> None:
        raise error

    return run_job


def chained() -> RuntimeError:
    try:
        try:
            raise MemoryError("Unable to allocate 3.00 GiB for an array")
        except MemoryError as exc:
            raise RuntimeError("writing the checkpoint failed") from exc
    except RuntimeError as exc:
        return exc


@pytest.mark.parametrize(
    "error", [MemoryError("Unable to allocate 3.00 GiB for an array"), chained()],
    ids=["MemoryError", "caused by a MemoryError"],
)
def test_out_of_memory_fails_at_once_with_resource_limit(
    db: Database, case: TrainCase, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    job_id = case.enqueue(max_attempts=3)
    monkeypatch.setattr("worker.jobs.run_job", raising(error))
    assert run_and_report(JobContext(db=db, job=claim(db)), memory_budget=512 * MiB) == 0
    job = job_row(db, job_id)
    assert (job.status, job.error_code, job.attempts) == ("failed", RESOURCE_LIMIT, 1)
    message = job.error_message or ""
    assert "512 MiB" in message and "DESCENT_MAX_JOB_MEMORY_BYTES" in message
    assert "Unable to allocate 3.00 GiB" in message or "checkpoint" in message


def test_other_errors_keep_their_retries(
    db: Database, case: TrainCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = case.enqueue(max_attempts=3)
    monkeypatch.setattr("worker.jobs.run_job", raising(OSError("disk on fire")))
    assert run_and_report(JobContext(db=db, job=claim(db)), memory_budget=512 * MiB) == 0
    job = job_row(db, job_id)
    assert (job.status, job.error_code, job.attempts) == ("queued", None, 1)


def test_out_of_memory_follows_causes_and_contexts() -> None:
    assert out_of_memory(MemoryError())
    assert out_of_memory(chained())
    assert not out_of_memory(ValueError("no"))
    message = memory_limit_message(8 * 1024 * MiB, "MemoryError")
    assert "8.00 GiB (DESCENT_MAX_JOB_MEMORY_BYTES)" in message
    assert message.endswith("(MemoryError)")


def child(code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE)


def children(db: Database, *, max_job_seconds: float = 60.0) -> Children:
    return Children(db=db, max_job_seconds=max_job_seconds,
                    memory_limit_message=memory_limit_message(256 * MiB),
                    on_slot_free=lambda: None)


@pytest.mark.system
def test_a_process_that_could_not_report_its_memory_error(db: Database, case: TrainCase) -> None:
    job_id = case.enqueue(max_attempts=3)
    running = children(db)
    running.start(claim(db), child(f"import os; os._exit({EXIT_OUT_OF_MEMORY})"), {},
                  next_heartbeat=time.monotonic() + 60)
    deadline = time.monotonic() + 30
    while running.running and time.monotonic() < deadline:
        running.collect_exits()
        time.sleep(0.05)
    job = job_row(db, job_id)
    assert (job.status, job.error_code, job.attempts) == ("failed", RESOURCE_LIMIT, 1)
    assert "256 MiB" in (job.error_message or "")


@pytest.mark.system
def test_a_process_past_the_time_limit_is_killed(db: Database, case: TrainCase) -> None:
    job_id = case.enqueue(max_attempts=3)
    running = children(db, max_job_seconds=0.5)
    process = child("import time; time.sleep(60)")
    running.start(claim(db), process, {}, next_heartbeat=time.monotonic() + 60)
    started = time.monotonic()
    while running.running and time.monotonic() < started + 30:
        running.enforce_time_limit()
        time.sleep(0.05)
    assert 0.5 <= time.monotonic() - started < 5
    assert process.returncode == -signal.SIGKILL
    job = job_row(db, job_id)
    assert (job.status, job.error_code, job.attempts) == ("failed", RESOURCE_LIMIT, 1)
    assert "0.5 s (DESCENT_MAX_JOB_SECONDS)" in (job.error_message or "")
