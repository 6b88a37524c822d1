"""Keeping the leases of the running jobs, and taking back the jobs of dead workers.

Heartbeats every ``heartbeat_seconds`` renew each lease and read ``cancel_requested`` back — a
busy training loop never starves them, because training runs in another process. A cancelled
job's process is killed and the job marked ``cancelled`` (never retried); a lost lease (the
heartbeat matched no row: this worker stalled and another took the job) kills the process at
once and nothing more is written for that job.
"""

from __future__ import annotations

import logging
import subprocess
import time

from service import queue
from service.db import Database
from worker.children import Children, Running, write_outcome
from worker.spare import JobProcess
from worker.spare import kill as kill_process

log = logging.getLogger("descent.worker")

# Reap expired leases at most this far apart (never further apart than one lease).
REAP_SECONDS = 5.0
# After a heartbeat that failed (a database error), try again this soon at the latest.
RETRY_HEARTBEAT_SECONDS = 1.0
# A heartbeat that matches no row may have raced the job's own outcome: its process exits
# right after writing it (its attempt row says so). Without an attempt row, wait this long for
# the exit before calling the lease lost; with one, give the exit this long before a kill.
EXIT_AFTER_OUTCOME_SECONDS = 0.5
EXIT_AFTER_OUTCOME_LIMIT_SECONDS = 30.0


def renew_leases(
    children: Children, *, db: Database, lease_seconds: float, heartbeat_seconds: float
) -> None:
    """Heartbeat every running job whose heartbeat is due, and act on what comes back."""
    for job_id, running in list(children.running.items()):
        if time.monotonic() < running.next_heartbeat:
            continue
        job = running.job
        try:
            beat = queue.heartbeat(
                db, job_id=job_id, lease_token=job.lease_token, lease_seconds=lease_seconds
            )
        except Exception:
            log.exception("heartbeat of job %s failed; retrying", job_id)
            running.next_heartbeat = time.monotonic() + min(
                RETRY_HEARTBEAT_SECONDS, heartbeat_seconds
            )
            continue
        running.next_heartbeat = time.monotonic() + heartbeat_seconds
        if beat is None and _ended_by_its_process(db, running):
            continue  # its own outcome ended the lease: it is exiting, collected when it has
        if beat is None:
            log.warning("job %s: lease lost; stopping it without further writes", job_id)
            children.forget(job_id, kill=True)
        elif beat.cancel_requested:
            children.forget(job_id, kill=True)
            write_outcome(db, job, "cancelled", queue.cancelled)
            log.info("job %s cancelled", job_id)


def _ended_by_its_process(db: Database, running: Running) -> bool:
    """A heartbeat matched no row: did the job's training process end the attempt itself (it
    wrote the outcome and is on its way out), rather than the reaper take the job? Its attempt
    row says so, written in the outcome's transaction; a process that then never exits is
    killed after ``EXIT_AFTER_OUTCOME_LIMIT_SECONDS``."""
    if running.outcome_seen_at is None:
        try:
            ended = queue.ended_by_its_process(db, lease_token=running.job.lease_token)
        except Exception:
            log.exception("job %s: reading its attempt failed", running.job.id)
            ended = False
        # An attempt from before attempts were recorded has no row: wait a moment instead.
        if not ended and not _exits(running.process, EXIT_AFTER_OUTCOME_SECONDS):
            return False
        running.outcome_seen_at = time.monotonic()
    if time.monotonic() - running.outcome_seen_at > EXIT_AFTER_OUTCOME_LIMIT_SECONDS:
        log.info("job %s: its process wrote the outcome but did not exit; killing it",
                 running.job.id)
        kill_process(running.process)
    return True


def _exits(process: JobProcess, seconds: float) -> bool:
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return False
    return True


def reap(db: Database) -> int:
    """Put the jobs of workers that stopped heartbeating back in the queue; how many."""
    try:
        count = queue.reap_expired(db)
    except Exception:
        log.exception("reaping expired leases failed")
        return 0
    if count:
        log.info("reaped %d job(s) whose worker stopped heartbeating", count)
    return count


def next_reap(lease_seconds: float) -> float:
    """When to reap next (monotonic time)."""
    return time.monotonic() + min(REAP_SECONDS, lease_seconds)
