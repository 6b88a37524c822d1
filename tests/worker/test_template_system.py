"""The template process (`worker.template`) that forks each job's training process: killing it
loses no job. The job it forked keeps training (it is the supervisor's child, not the
template's), the supervisor starts another template, and the jobs queued meanwhile run."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from test_worker_system import EPOCHS, INTERRUPTED, StartWorker, job_processes
from worker_helpers import (
    TrainCase,
    WorkerProcess,
    job_row,
    logs,
    model_of,
    wait_for,
    wait_progress,
    wait_status,
)

from worker.template import TEMPLATE_NAME

pytestmark = [pytest.mark.slow, pytest.mark.system]


def templates(worker: WorkerProcess) -> list[int]:
    """Pids of the worker's live template processes (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        comm, fields = stat.partition("(")[2].rpartition(")")[0], stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == worker.pid and fields[0] != "Z" and comm == TEMPLATE_NAME:
            found.append(int(entry))
    return found


def test_killing_the_template_loses_no_job(case: TrainCase, start_worker: StartWorker) -> None:
    spec = case.spec(epochs=EPOCHS, **INTERRUPTED)
    running_id = case.enqueue(spec)
    worker = start_worker()
    wait_progress(case.db, running_id, 2, timeout=120)
    trainer = job_processes(worker)
    assert len(trainer) == 1, logs(worker)
    [template] = wait_for(lambda: templates(worker), timeout=60, what="the template process")

    os.kill(template, signal.SIGKILL)
    queued = [case.enqueue(case.spec(epochs=3)) for _ in range(3)]

    # The job the dead template forked trains on to the end, bit for bit, in its one attempt.
    job = wait_status(case.db, running_id, "succeeded", "failed", timeout=240)
    assert (job.status, job.attempts) == ("succeeded", 1), (job.error_message, logs(worker))
    assert model_of(case.db, job).weights_sha256 == case.reference(spec), logs(worker)
    # A new template forks the jobs queued after the kill.
    for job_id in queued:
        done = wait_status(case.db, job_id, "succeeded", "failed", timeout=240)
        assert (done.status, done.attempts) == ("succeeded", 1), (done.error_message, logs(worker))
    assert templates(worker) and templates(worker) != [template]
    assert "the template process exited" in worker.log()
    assert job_row(case.db, running_id).error_code is None
