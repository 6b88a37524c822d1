"""The worker process: claims jobs, runs each in a training process, and keeps their leases.

One supervisor per ``descent worker`` process, with a fresh ``lease_owner`` (uuid4). It claims up
to ``concurrency`` jobs and starts ``python -m worker.runner`` for each (the child opens its own
connection and writes its job's history, checkpoints and outcome). The supervisor itself only
touches the queue's bookkeeping:

* heartbeats every ``heartbeat_seconds`` renew each lease and read ``cancel_requested`` back — a
  busy training loop never starves them, because training runs in another process;
* a cancelled job's child is killed and the job marked ``cancelled`` (never retried);
* a lost lease (heartbeat matched no row: this worker stalled and another took the job) kills the
  child at once and nothing more is written for that job;
* a child that dies (a signal: ``WORKER_LOST``) or exits unexpectedly (``INTERNAL``) fails its
  job for a retry with backoff (`service.queue.fail`);
* ``reap_expired`` runs every few seconds, so jobs of dead workers come back to the queue.

SIGTERM (or SIGINT): stop claiming, SIGTERM the children (each checkpoints its last finished
epoch and exits), ``release`` their jobs to ``queued`` without spending an attempt, and exit
within ``grace_seconds`` (children still running then are killed and released). A second SIGTERM
exits at once; the leases bring the jobs back. SIGUSR1 wakes an idle supervisor to claim now.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass, is_dataclass
from typing import Any

from service import queue
from service.db import Database
from service.settings import Settings, get_settings
from worker.blas import blas_env
from worker.runner import (
    EXIT_LEASE_LOST,
    EXIT_STOPPED,
    SPARE_FLAG,
    bound_stalled_transactions,
)

log = logging.getLogger("descent.worker")

# Check children for exits at least this often while any run (a cheap waitpid each).
CHILD_POLL_SECONDS = 0.1
# Reap expired leases at most this far apart (never further apart than one lease).
REAP_SECONDS = 5.0


@dataclass
class Running:
    """A claimed job and the training process running it."""

    job: Any  # service.queue.ClaimedJob
    process: subprocess.Popen[bytes]
    next_heartbeat: float
    stop_sent: bool = False


def job_fields(job: Any) -> dict[str, Any]:
    """A ClaimedJob as a JSON-able dict (it is a dataclass or a NamedTuple)."""
    if is_dataclass(job) and not isinstance(job, type):
        return asdict(job)
    return dict(job._asdict())


class Supervisor:
    """Runs jobs from the queue until stopped (`run` returns the process's exit code)."""

    def __init__(
        self,
        *,
        db: Database,
        database_url: str,
        concurrency: int = 1,
        settings: Settings | None = None,
    ) -> None:
        self.db = db
        self.database_url = database_url
        self.concurrency = max(1, concurrency)
        self.settings = settings or get_settings()
        bound_stalled_transactions(db, self.settings.lease_seconds)
        db.engine.dispose()  # pooled connections opened before now lack that bound
        self.worker_id = str(uuid.uuid4())
        self.running: dict[str, Running] = {}
        self.stopping = False
        self.grace_deadline = 0.0
        self._wake = threading.Event()
        self._next_claim = 0.0
        self._next_reap = 0.0
        # A training process started ahead of its job, imports done, waiting for one on stdin.
        self._spare: subprocess.Popen[bytes] | None = None

    # --- signals and wake-ups -----------------------------------------------------------------

    def install_signal_handlers(self) -> None:
        """SIGTERM/SIGINT stop gracefully, a second one exits at once; SIGUSR1 wakes.

        The second signal is acted on by a thread reading the signal wake-up pipe, not by the
        Python-level handler: that one runs only when the main thread is between bytecodes, and
        the main thread may be blocked in a database call (on SQLite, behind a write lock a stuck
        training process holds) for as long as the busy timeout.
        """
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self.request_stop())
        signal.signal(signal.SIGUSR1, lambda *_: self.wake())
        read_end, write_end = os.pipe()
        os.set_blocking(write_end, False)
        signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
        threading.Thread(target=self._count_stop_signals, args=(read_end,), daemon=True).start()

    def _count_stop_signals(self, read_end: int) -> None:
        stops = 0
        while True:
            for signum in os.read(read_end, 64):
                if signum in (signal.SIGTERM, signal.SIGINT):
                    stops += 1
                if stops >= 2:
                    # Leave now; the leases bring the jobs back to the queue.
                    for running in list(self.running.values()):
                        _kill(running.process)
                    os._exit(128 + signum)

    def request_stop(self) -> None:
        """Stop claiming; children checkpoint and stop; their jobs go back to the queue."""
        if not self.stopping:
            self.stopping = True
            self.grace_deadline = time.monotonic() + self.settings.grace_seconds
        self.wake()

    def wake(self) -> None:
        """Look for work now rather than at the next poll (e.g. a job was just enqueued)."""
        self._next_claim = 0.0
        self._wake.set()

    # --- the loop ---------------------------------------------------------------------------

    def run(self) -> int:
        log.info(
            "worker %s started: concurrency %d, lease %.1fs, heartbeat %.1fs",
            self.worker_id,
            self.concurrency,
            self.settings.lease_seconds,
            self.settings.heartbeat_seconds,
        )
        # Woken at once when a job is queued (NOTIFY / SQLite's data_version); polls otherwise.
        watcher_stop = threading.Event()
        watcher = threading.Thread(
            target=queue.watch_for_jobs,
            args=(self.db,),
            kwargs={"wake": self.wake, "stop": watcher_stop, "wanted": self._has_free_slot},
            name="job-wakeups",
            daemon=True,
        )
        watcher.start()
        self._refill_spare()
        try:
            return self._loop()
        finally:
            watcher_stop.set()
            self._discard_spare()

    def _has_free_slot(self) -> bool:
        return not self.stopping and len(self.running) < self.concurrency

    def _loop(self) -> int:
        while True:
            self._collect_exits()
            self._heartbeat_due()
            now = time.monotonic()
            if self.stopping:
                for running in self.running.values():
                    if not running.stop_sent:
                        _signal(running.process, signal.SIGTERM)
                        running.stop_sent = True
                if not self.running:
                    break
                if now >= self.grace_deadline:
                    self._kill_all_and_release()
                    break
            else:
                if now >= self._next_reap:
                    self._reap()
                self._claim()
            self._wake.wait(self._sleep_seconds())
            self._wake.clear()
        log.info("worker %s stopped", self.worker_id)
        return 0

    def _sleep_seconds(self) -> float:
        now = time.monotonic()
        deadlines = [self._next_reap]
        if not self.stopping and len(self.running) < self.concurrency:
            deadlines.append(self._next_claim)
        if self.running:
            deadlines.append(now + CHILD_POLL_SECONDS)
        deadlines += [r.next_heartbeat for r in self.running.values()]
        return max(0.0, min(deadlines) - now)

    def _claim(self) -> None:
        while len(self.running) < self.concurrency and time.monotonic() >= self._next_claim:
            try:
                job = queue.claim_next_job(
                    self.db, worker_id=self.worker_id, lease_seconds=self.settings.lease_seconds
                )
            except Exception:
                log.exception("claiming a job failed; retrying at the next poll")
                job = None
            if job is None:
                self._next_claim = time.monotonic() + self.settings.poll_seconds
                return
            self._start(job)

    def _spawn_runner(self, *, spare: bool = False) -> subprocess.Popen[bytes]:
        threads = self.settings.blas_threads_for(self.concurrency)
        env = {**os.environ, **blas_env(threads), "DESCENT_DATABASE_URL": self.database_url}
        command = [sys.executable, "-m", "worker.runner", *([SPARE_FLAG] if spare else [])]
        return subprocess.Popen(command, stdin=subprocess.PIPE, env=env)

    def _refill_spare(self) -> None:
        """Start the next job's process now: its ~1 s of imports overlap the wait for work."""
        if self._spare is None and not self.stopping:
            try:
                self._spare = self._spawn_runner(spare=True)
            except OSError:
                log.warning("could not start a spare training process; starting them per job")

    def _take_spare(self) -> subprocess.Popen[bytes] | None:
        spare, self._spare = self._spare, None
        if spare is not None and spare.poll() is not None:
            spare = None  # it died waiting (killed from outside): start a fresh one
        return spare

    def _discard_spare(self) -> None:
        spare, self._spare = self._spare, None
        if spare is None:
            return
        try:
            assert spare.stdin is not None
            spare.stdin.close()  # no job: it exits at once
            spare.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            _kill(spare)
            spare.wait()

    def _start(self, job: Any) -> None:
        threads = self.settings.blas_threads_for(self.concurrency)
        payload = {
            "job": job_fields(job),
            "database_url": self.database_url,
            "blas_threads": threads,
            "checkpoint_seconds": self.settings.checkpoint_seconds,
            "lease_seconds": self.settings.lease_seconds,
            "parent_pid": os.getpid(),
        }
        try:
            process = self._take_spare() or self._spawn_runner()
        except OSError as exc:  # out of processes or memory: let the job retry, maybe elsewhere
            log.exception("job %s: could not start its training process", job.id)
            message = f"could not start a training process: {exc}"
            self._write(job, "fail", queue.fail, code="INTERNAL", message=message, retry=True)
            self._next_claim = time.monotonic() + self.settings.poll_seconds
            return
        assert process.stdin is not None
        try:
            process.stdin.write(json.dumps(payload, default=str).encode())
            process.stdin.close()
        except BrokenPipeError:
            pass  # it died at once; its exit status tells how
        self._refill_spare()
        next_heartbeat = time.monotonic() + self.settings.heartbeat_seconds
        self.running[job.id] = Running(job=job, process=process, next_heartbeat=next_heartbeat)
        log.info(
            "job %s (%s, attempt %d/%d) started in process %d",
            job.id,
            job.kind,
            job.attempts,
            job.max_attempts,
            process.pid,
        )

    def _reap(self) -> None:
        self._next_reap = time.monotonic() + min(REAP_SECONDS, self.settings.lease_seconds)
        try:
            count = queue.reap_expired(self.db)
        except Exception:
            log.exception("reaping expired leases failed")
            return
        if count:
            log.info("reaped %d job(s) whose worker stopped heartbeating", count)
            self.wake()

    def _heartbeat_due(self) -> None:
        for job_id, running in list(self.running.items()):
            if time.monotonic() < running.next_heartbeat:
                continue
            job = running.job
            try:
                beat = queue.heartbeat(
                    self.db,
                    job_id=job_id,
                    lease_token=job.lease_token,
                    lease_seconds=self.settings.lease_seconds,
                )
            except Exception:
                log.exception("heartbeat of job %s failed; retrying", job_id)
                running.next_heartbeat = time.monotonic() + min(
                    1.0, self.settings.heartbeat_seconds
                )
                continue
            running.next_heartbeat = time.monotonic() + self.settings.heartbeat_seconds
            if beat is None and running.process.poll() is not None:
                continue  # it just finished (its outcome ended the lease): collected next round
            if beat is None:
                log.warning("job %s: lease lost; stopping it without further writes", job_id)
                self._forget(job_id, kill=True)
            elif beat.cancel_requested:
                self._forget(job_id, kill=True)
                self._write(job, "cancelled", queue.cancelled)
                log.info("job %s cancelled", job_id)

    def _collect_exits(self) -> None:
        for job_id, running in list(self.running.items()):
            returncode = running.process.poll()
            if returncode is None:
                continue
            self._forget(job_id, kill=False)
            job = running.job
            if returncode == 0:
                log.info("job %s: done", job_id)
            elif returncode == EXIT_LEASE_LOST:
                log.info("job %s: its process found the lease lost", job_id)
            elif returncode == EXIT_STOPPED:
                self._write(job, "release", queue.release)
                log.info("job %s: checkpointed and released to the queue", job_id)
            elif returncode < 0:
                name = signal.Signals(-returncode).name
                message = f"the training process was killed by {name} (out of memory?)"
                self._write(
                    job, "fail", queue.fail, code="WORKER_LOST", message=message, retry=True
                )
            else:
                message = f"the training process exited with code {returncode}"
                self._write(job, "fail", queue.fail, code="INTERNAL", message=message, retry=True)

    def _kill_all_and_release(self) -> None:
        for job_id, running in list(self.running.items()):
            log.warning("job %s did not stop within the grace period; killing it", job_id)
            self._forget(job_id, kill=True)
            self._write(running.job, "release", queue.release)

    def _forget(self, job_id: str, *, kill: bool) -> None:
        running = self.running.pop(job_id)
        if kill:
            _kill(running.process)
        running.process.wait()
        self._next_claim = 0.0  # a slot is free

    def _write(self, job: Any, what: str, fn: Any, **kwargs: Any) -> None:
        """One lease-guarded queue write for ``job``; a lost lease or an error is only logged."""
        try:
            result = fn(self.db, job_id=job.id, lease_token=job.lease_token, **kwargs)
        except Exception:
            log.exception("job %s: %s failed (its lease will bring it back)", job.id, what)
            return
        if result is None or result is False:
            log.info("job %s: %s matched no row (lease lost or job finished)", job.id, what)


def _signal(process: subprocess.Popen[bytes], signum: int) -> None:
    if process.poll() is None:
        try:
            process.send_signal(signum)
        except ProcessLookupError:
            pass


def _kill(process: subprocess.Popen[bytes]) -> None:
    _signal(process, signal.SIGKILL)
