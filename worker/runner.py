"""The training process: runs one claimed job (`run`), forked from the worker's template process
(`worker.template`), or — where there is none — started as ``python -m worker.runner`` with the
claimed job as JSON on standard input.

It opens its own database connection and writes the job's outcome itself (history rows,
checkpoints, ``finish``, ``fail``), always under the job's lease token. What it could not write
it tells the supervisor through its exit code:

* ``0`` — the outcome is written (succeeded, or failed with a user error or an internal one),
  or the lease was lost and there is nothing to write;
* ``EXIT_STOPPED`` — asked to stop (SIGTERM) and checkpointed: the supervisor releases the job;
* ``EXIT_OUT_OF_MEMORY`` — a ``MemoryError`` it could not report: the supervisor fails the job
  with ``RESOURCE_LIMIT`` (never retried);
* anything else, or death by a signal — the supervisor fails the job for a retry.

Its memory is limited (`worker.memory`): once its imports are done it caps its own address
space at its size then plus ``max_job_memory_bytes``, so a job that needs more fails with
``MemoryError`` — reported as ``RESOURCE_LIMIT``, never retried — instead of growing until the
kernel's OOM killer ends it (or another process).

The supervisor heartbeats the lease; this process never does. It dies with the supervisor
(``PR_SET_PDEATHSIG``), so a killed worker leaves no training process writing behind it.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import sys
import threading
import time
import traceback
from typing import Any

from sqlalchemy import event

EXIT_STOPPED = 75
EXIT_LEASE_LOST = 76  # informational: the supervisor treats it like 0 (nothing to write)
EXIT_OUT_OF_MEMORY = 77
RESOURCE_LIMIT = "RESOURCE_LIMIT"  # the error code of a job over its memory or time budget

PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15
SPARE_FLAG = "--spare"  # started ahead of its job (see main)
TRAINING_NAME = "descent-train"  # our process name once we have a job
MESSAGE_LIMIT = 2000

log = logging.getLogger("descent.worker.runner")


def die_with_parent(parent_pid: int) -> None:
    """Get SIGKILL when the supervisor dies (Linux), and check it is not gone already."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: fall back to watching our parent
        threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    if os.getppid() != parent_pid:
        os._exit(1)


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(0.5)
    os._exit(1)


class StopFlag:
    """Set by SIGTERM: the job checkpoints at the engine's next look and stops."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def install(self) -> None:
        signal.signal(signal.SIGTERM, lambda *_: self.event.set())
        # Ctrl-C reaches the whole process group; the supervisor turns it into our SIGTERM.
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    def __call__(self) -> bool:
        return self.event.is_set()


def bound_stalled_transactions(db: Any, seconds: float) -> None:
    """PostgreSQL: end this process's sessions when they sit in a transaction for ``seconds``.

    A stalled process (paused, swapped out, SIGSTOPped) between two statements of a transaction
    keeps its row locks — and the reaper's UPDATE of that job would wait on them for as long as
    the stall lasts, so no other worker could take the job. A transaction idle for a lease is a
    stalled worker's: its locks must not outlive its lease. (SQLite has no equivalent: a stalled
    process holding the write lock stalls every process on the host until it resumes or dies.)
    """
    if not db.is_postgres:
        return
    milliseconds = max(1000, int(seconds * 1000))

    @event.listens_for(db.engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        with dbapi_conn.cursor() as cursor:
            cursor.execute(f"SET idle_in_transaction_session_timeout = {milliseconds}")
        dbapi_conn.commit()


def claimed_job_from(payload: dict[str, Any]) -> Any:
    from service.queue import ClaimedJob

    return ClaimedJob(**payload["job"])


def run(payload: dict[str, Any], stop: StopFlag, *, db: Any = None) -> int:
    """Run the job in ``payload``; returns the exit code (see the module docstring). ``db``: a
    `Database` for the payload's URL, its dialect and statement caches warm (`worker.template`),
    with no connection open; else one is opened here."""
    from service.db import connect
    from worker.blas import limit_blas_threads
    from worker.jobs import JobContext
    from worker.memory import limit_address_space, log_peak

    began, began_cpu = time.time(), time.process_time()
    limit_blas_threads(int(payload["blas_threads"]))
    budget = payload.get("max_job_memory_bytes")
    if budget:
        limit_address_space(int(budget))
    if db is None:
        db = connect(payload["database_url"], pool_size=1)
        bound_stalled_transactions(db, float(payload["lease_seconds"]))
    ctx = JobContext(
        db=db,
        job=claimed_job_from(payload),
        should_stop=stop,
        checkpoint_seconds=float(payload["checkpoint_seconds"]),
    )
    ctx.marks.append(("process", began, began_cpu))
    ctx.mark("connected")
    try:
        return run_and_report(ctx, memory_budget=int(budget) if budget else None)
    finally:
        log_peak(ctx.job.id)
        asked, claimed = payload.get("trace") or (began, began)
        log_trace(ctx.job.id, asked, [("claimed", claimed, began_cpu), *ctx.marks])
        db.dispose()


def log_trace(job_id: str, asked: float, marks: list[tuple[str, float, float]]) -> None:
    """One line: the milliseconds each phase took since the one before, from the moment the
    supervisor asked for a job, and in brackets the CPU milliseconds this process spent on it
    (``claimed +2.1, process +3.0, connected +1.2 (0.9), …``): where a small job's time goes.
    The claim and the hand-over are the supervisor's (no CPU figure of ours)."""
    steps, last, last_cpu = [], asked, None
    for phase, at, cpu in marks:
        spent = "" if last_cpu is None else f" ({(cpu - last_cpu) * 1000:.1f})"
        steps.append(f"{phase} +{(at - last) * 1000:.1f}{spent}")
        last, last_cpu = at, cpu
    log.info("job %s: ms per phase (CPU ms): %s; total %.1f", job_id, ", ".join(steps),
             (last - asked) * 1000)


def run_and_report(ctx: Any, *, memory_budget: int | None = None) -> int:
    """Run the job; a failure is written with ``fail`` (user errors and resource limits once,
    others for a retry). ``memory_budget`` is only named in the message of a ``MemoryError``."""
    from service import queue
    from service.errors import InvalidInput
    from worker.jobs import InvalidJob, LeaseLost, Stopped, run_job
    from worker.memory import memory_limit_message, out_of_memory
    from worker.nn import DataError, DivergedError, SpecError

    job = ctx.job
    try:
        run_job(ctx)
        return 0
    except Stopped:
        log.info("job %s stopped and checkpointed", job.id)
        return EXIT_STOPPED
    except LeaseLost:
        log.warning("job %s: lease lost, stopping without further writes", job.id)
        return EXIT_LEASE_LOST
    except DivergedError as exc:
        code, message, retry = "DIVERGED", str(exc), False
    except (SpecError, DataError, InvalidJob, InvalidInput) as exc:
        # Only errors that name what the user must change; any other ValueError (a corrupt
        # checkpoint, a bug) is ours and is retried below.
        code, message, retry = "INVALID_INPUT", str(exc), False
    except Exception as exc:
        if out_of_memory(exc):  # over its budget: retrying would only fail again
            detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            code, retry = RESOURCE_LIMIT, False
            message = memory_limit_message(memory_budget, detail)
        else:  # an infrastructure error: retried with backoff
            log.error("job %s failed:\n%s", job.id, traceback.format_exc())
            code, message, retry = "INTERNAL", f"{type(exc).__name__}: {exc}", True
    log.info("job %s: %s: %s", job.id, code, message)
    try:
        status = queue.fail(
            ctx.db,
            job_id=job.id,
            lease_token=job.lease_token,
            code=code,
            message=message[:MESSAGE_LIMIT],
            retry=retry,
        )
    except MemoryError:  # too close to its limit to write even that: the supervisor will
        return EXIT_OUT_OF_MEMORY
    return 0 if status is not None else EXIT_LEASE_LOST


def main() -> int:
    from service.logging import configure_logging
    from service.settings import get_settings
    from worker.memory import return_freed_memory

    return_freed_memory()
    configure_logging(get_settings().log_json)
    stop = StopFlag()
    stop.install()
    parent_pid = os.getppid()
    die_with_parent(parent_pid)
    # The supervisor starts us before it has a job for us (a spare, `SPARE_FLAG` in our
    # command line): the payload comes when it has one; an empty stdin means it needs none.
    preload()
    text = sys.stdin.read()
    if not text.strip():
        return 0
    set_process_name(TRAINING_NAME)  # in ps/top: a spare no longer
    payload = json.loads(text)
    if int(payload["parent_pid"]) != parent_pid:
        die_with_parent(int(payload["parent_pid"]))
    return run(payload, stop)


def set_process_name(name: str) -> None:
    """Set this process's name (``/proc/self/comm``, ``ps -o comm``; Linux only)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0)
    except (OSError, AttributeError):
        pass


def preload() -> None:
    """Import what every job needs (~1 s) before its payload arrives."""
    import service.db  # noqa: F401
    import service.queue  # noqa: F401
    import worker.blas  # noqa: F401
    import worker.jobs  # noqa: F401
    import worker.memory  # noqa: F401
    import worker.nn  # noqa: F401


if __name__ == "__main__":
    code = main()
    # Skip the interpreter's teardown (module finalization takes a loaded machine ~0.5 s): the
    # supervisor waits for our exit before it starts the next job. Our writes are committed.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
