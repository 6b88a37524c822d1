"""The jobs a supervisor runs, one training process each: starting them and how each one ends.

A training process writes its job's outcome itself; the supervisor writes only what the process
could not (every write lease-guarded, see `write_outcome`):

* exit 0 or ``EXIT_LEASE_LOST`` — nothing to write;
* ``EXIT_STOPPED`` (checkpointed after SIGTERM) — ``release`` to the queue, no attempt spent;
* ``EXIT_OUT_OF_MEMORY`` (a ``MemoryError`` it could not report) — ``failed`` with
  ``RESOURCE_LIMIT``, never retried;
* killed by a signal — ``WORKER_LOST``, retried with backoff (the kernel's OOM killer and an
  operator's ``kill -9`` look the same from here);
* any other exit — ``INTERNAL``, retried with backoff;
* running longer than ``max_job_seconds`` — killed, ``failed`` with ``RESOURCE_LIMIT``.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, is_dataclass
from typing import Any

from service import queue
from service.db import Database
from worker.runner import EXIT_LEASE_LOST, EXIT_OUT_OF_MEMORY, EXIT_STOPPED, RESOURCE_LIMIT
from worker.spare import JobProcess, signal_process
from worker.spare import kill as kill_process

log = logging.getLogger("descent.worker")


@dataclass
class Running:
    """A claimed job and the training process running it."""

    job: Any  # service.queue.ClaimedJob
    process: JobProcess
    next_heartbeat: float
    started_at: float  # time.monotonic() when the process got the job
    stop_sent: bool = False
    # When a heartbeat found the job ended by the process's own outcome (it is exiting).
    outcome_seen_at: float | None = None


def job_fields(job: Any) -> dict[str, Any]:
    """A ClaimedJob as a JSON-able dict (it is a dataclass or a NamedTuple)."""
    if is_dataclass(job) and not isinstance(job, type):
        return asdict(job)
    return dict(job._asdict())


def write_outcome(db: Database, job: Any, what: str, fn: Any, **kwargs: Any) -> None:
    """One lease-guarded queue write for ``job``; a lost lease or an error is only logged."""
    try:
        result = fn(db, job_id=job.id, lease_token=job.lease_token, **kwargs)
    except Exception:
        log.exception("job %s: %s failed (its lease will bring it back)", job.id, what)
        return
    if result is None or result is False:
        log.info("job %s: %s matched no row (lease lost or job finished)", job.id, what)


def _watch_exit(pid: int, on_exit: Callable[[], None]) -> None:
    """Call ``on_exit`` the moment process ``pid`` exits (leaving its status for ``poll``): the
    supervisor's next job starts then, not at its next poll of the children."""
    try:
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
    except (ChildProcessError, OSError):
        pass  # collected already
    on_exit()


class Children:
    """The running jobs by id; ``on_slot_free`` is called whenever one ends."""

    def __init__(
        self,
        *,
        db: Database,
        max_job_seconds: float,
        memory_limit_message: str,
        on_slot_free: Callable[[], None],
        on_exit: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.on_exit = on_exit
        self.max_job_seconds = max_job_seconds
        self.memory_limit_message = memory_limit_message
        self.on_slot_free = on_slot_free
        self.running: dict[str, Running] = {}

    def __len__(self) -> int:
        return len(self.running)

    def start(
        self, job: Any, process: JobProcess, payload: dict[str, Any], *,
        next_heartbeat: float,
    ) -> None:
        """Keep ``process`` as running ``job``, handing it ``payload`` (the job) on its stdin
        unless it has it already (`worker.spare.Launcher.start` hands it over)."""
        if process.stdin is not None and not process.stdin.closed:
            try:
                process.stdin.write(json.dumps(payload, default=str).encode())
                process.stdin.close()
            except BrokenPipeError:
                pass  # it died at once; its exit status tells how
        self.running[job.id] = Running(
            job=job, process=process, next_heartbeat=next_heartbeat, started_at=time.monotonic()
        )
        if self.on_exit is not None:
            threading.Thread(target=_watch_exit, args=(process.pid, self.on_exit),
                             name=f"exit-of-{process.pid}", daemon=True).start()

    def ask_to_stop(self) -> None:
        """SIGTERM each process once: it checkpoints its last finished epoch and exits."""
        for running in self.running.values():
            if not running.stop_sent:
                signal_process(running.process, signal.SIGTERM)
                running.stop_sent = True

    def kill_all(self) -> None:
        """SIGKILL every process, without waiting or writing (the process is about to exit)."""
        for running in list(self.running.values()):
            kill_process(running.process)

    def collect_exits(self) -> None:
        for job_id, running in list(self.running.items()):
            returncode = running.process.poll()
            if returncode is not None:
                self.forget(job_id, kill=False)
                self._ended(running.job, returncode)

    def _ended(self, job: Any, returncode: int) -> None:
        db = self.db
        if returncode == 0:
            log.info("job %s: done", job.id)
        elif returncode == EXIT_LEASE_LOST:
            log.info("job %s: its process found the lease lost", job.id)
        elif returncode == EXIT_STOPPED:
            write_outcome(db, job, "release", queue.release)
            log.info("job %s: checkpointed and released to the queue", job.id)
        elif returncode == EXIT_OUT_OF_MEMORY:
            self._fail_resource_limit(job, self.memory_limit_message)
        elif returncode < 0:
            name = signal.Signals(-returncode).name
            message = f"the training process was killed by {name} (out of memory?)"
            write_outcome(
                db, job, "fail", queue.fail, code="WORKER_LOST", message=message, retry=True
            )
        else:
            message = f"the training process exited with code {returncode}"
            write_outcome(db, job, "fail", queue.fail, code="INTERNAL", message=message, retry=True)

    def enforce_time_limit(self) -> None:
        """Kill the process of every job that has run longer than ``max_job_seconds``."""
        now = time.monotonic()
        for job_id, running in list(self.running.items()):
            if now - running.started_at <= self.max_job_seconds:
                continue
            log.warning("job %s: past its time limit; killing its process", job_id)
            self.forget(job_id, kill=True)
            message = (
                f"the job ran longer than its time limit of {self.max_job_seconds:g} s"
                " (DESCENT_MAX_JOB_SECONDS) and was stopped: use fewer epochs, a smaller"
                " network or less data"
            )
            self._fail_resource_limit(running.job, message)

    def _fail_resource_limit(self, job: Any, message: str) -> None:
        log.info("job %s: %s: %s", job.id, RESOURCE_LIMIT, message)
        write_outcome(
            self.db, job, "fail", queue.fail, code=RESOURCE_LIMIT, message=message, retry=False
        )

    def kill_all_and_release(self) -> None:
        for job_id, running in list(self.running.items()):
            log.warning("job %s did not stop within the grace period; killing it", job_id)
            self.forget(job_id, kill=True)
            write_outcome(self.db, running.job, "release", queue.release)

    def forget(self, job_id: str, *, kill: bool) -> None:
        running = self.running.pop(job_id)
        if kill:
            kill_process(running.process)
        running.process.wait()
        self.on_slot_free()
