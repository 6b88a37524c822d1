"""The worker process: claims jobs, runs each in a training process, and keeps their leases.

One supervisor per ``descent worker`` process, with a fresh ``lease_owner`` (uuid4). It claims up
to ``concurrency`` jobs and runs each in a training process of its own (`worker.runner`; the
child opens its own connection and writes its job's history, checkpoints and outcome). The
supervisor itself only touches the queue's bookkeeping; its parts live beside it:

* `worker.spare` — starting training processes, forked from a warm template (`worker.template`)
  ahead of their jobs; the supervisor is their parent (a child subreaper);
* `worker.children` — the running jobs, and how each ends (exit codes, time limit, kills); an
  exit wakes the loop at once, so the next job is claimed the moment a slot frees;
* `worker.leases` — heartbeats (lost leases, cancels) and the reaper, which runs every few
  seconds so that jobs of dead workers come back to the queue;
* `worker.signals` — SIGTERM/SIGINT and SIGUSR1.

SIGTERM (or SIGINT): stop claiming, SIGTERM the children (each checkpoints its last finished
epoch and exits), ``release`` their jobs to ``queued`` without spending an attempt, and exit
within ``grace_seconds`` (children still running then are killed and released). A second SIGTERM
exits at once; the leases bring the jobs back. SIGUSR1 wakes an idle supervisor to claim now.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from typing import Any

from service import queue
from service.db import Database
from service.settings import Settings, get_settings
from worker.children import Children, job_fields, write_outcome
from worker.leases import next_reap, reap, renew_leases
from worker.memory import memory_limit_message
from worker.runner import bound_stalled_transactions
from worker.signals import install_stop_signals
from worker.spare import Launcher
from worker.sweeps import SweepKeeper

log = logging.getLogger("descent.worker")

# Check children for exits (and time limits) at least this often while any run (an exit
# wakes the loop at once, too: `Children`'s ``on_exit``).
CHILD_POLL_SECONDS = 0.1
# Wait this long at most for the forked spare before a claim (a fork takes milliseconds), and
# while the template process warms up (at the start, or after it died) look again this soon.
SPARE_WAIT_SECONDS = 0.05
TEMPLATE_WAIT_SECONDS = 0.02


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
        self.children = Children(
            db=db,
            max_job_seconds=self.settings.max_job_seconds,
            memory_limit_message=memory_limit_message(self.settings.max_job_memory_bytes),
            on_slot_free=self._slot_freed,
            on_exit=self.wake,
        )
        self.stopping = False
        self.grace_deadline = 0.0
        self._wake = threading.Event()
        self._next_claim = 0.0
        self._next_reap = 0.0
        self.blas_threads = self.settings.blas_threads_for(self.concurrency)
        self._launcher = Launcher(database_url=database_url, blas_threads=self.blas_threads,
                                  lease_seconds=self.settings.lease_seconds)
        self._sweeps = SweepKeeper(db=db, settings=self.settings)

    # --- signals and wake-ups -----------------------------------------------------------------

    def install_signal_handlers(self) -> None:
        """SIGTERM/SIGINT stop gracefully, a second one exits at once; SIGUSR1 wakes."""
        install_stop_signals(
            request_stop=self.request_stop, wake=self.wake, kill_children=self.children.kill_all
        )

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

    def _slot_freed(self) -> None:
        self._next_claim = 0.0
        self._sweeps.job_ended()

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
            self._launcher.discard()

    def _has_free_slot(self) -> bool:
        return not self.stopping and len(self.children) < self.concurrency

    def _loop(self) -> int:
        settings = self.settings
        while True:
            self.children.collect_exits()
            self.children.enforce_time_limit()
            renew_leases(
                self.children,
                db=self.db,
                lease_seconds=settings.lease_seconds,
                heartbeat_seconds=settings.heartbeat_seconds,
            )
            if self.stopping:
                self.children.ask_to_stop()
                if not self.children.running:
                    break
                if time.monotonic() >= self.grace_deadline:
                    self.children.kill_all_and_release()
                    break
            else:
                if time.monotonic() >= self._next_reap:
                    self._next_reap = next_reap(settings.lease_seconds)
                    if reap(self.db):
                        self.wake()
                self._sweeps.run_if_due()  # before claiming: a trial it queues runs here
                self._claim()
            self._wake.wait(self._sleep_seconds())
            self._wake.clear()
        log.info("worker %s stopped", self.worker_id)
        return 0

    def _sleep_seconds(self) -> float:
        now = time.monotonic()
        deadlines = [self._next_reap]
        if not self.stopping and len(self.children) < self.concurrency:
            deadlines.append(self._next_claim)
        if self.children.running:
            deadlines.append(now + CHILD_POLL_SECONDS)
        deadlines += [r.next_heartbeat for r in self.children.running.values()]
        return max(0.0, min(deadlines) - now)

    def _claim(self) -> None:
        while len(self.children) < self.concurrency and time.monotonic() >= self._next_claim:
            # The next process is forking (ms) or the template importing (s, after it died).
            if not self._launcher.ready(wait=SPARE_WAIT_SECONDS):
                self._next_claim = time.monotonic() + TEMPLATE_WAIT_SECONDS
                return
            asked = time.time()
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
            self._start(job, trace=[asked, time.time()])

    def _refill_spare(self) -> None:
        if not self.stopping:
            self._launcher.refill()

    def _start(self, job: Any, *, trace: list[float]) -> None:
        settings = self.settings
        payload = {
            "job": job_fields(job),
            "database_url": self.database_url,
            "blas_threads": self.blas_threads,
            "checkpoint_seconds": settings.checkpoint_seconds,
            "lease_seconds": settings.lease_seconds,
            "max_job_memory_bytes": settings.max_job_memory_bytes,
            "parent_pid": os.getpid(),
            "trace": trace,  # [claim asked, claimed] (wall clock): see runner.log_trace
        }
        try:
            process = self._launcher.start(payload)
        except OSError as exc:  # out of processes or memory: let the job retry, maybe elsewhere
            log.exception("job %s: could not start its training process", job.id)
            message = f"could not start a training process: {exc}"
            write_outcome(
                self.db, job, "fail", queue.fail, code="INTERNAL", message=message, retry=True
            )
            self._next_claim = time.monotonic() + settings.poll_seconds
            return
        next_heartbeat = time.monotonic() + settings.heartbeat_seconds
        self.children.start(job, process, payload, next_heartbeat=next_heartbeat)
        self._refill_spare()
        log.info(
            "job %s (%s, attempt %d/%d) started in process %d",
            job.id,
            job.kind,
            job.attempts,
            job.max_attempts,
            process.pid,
        )
