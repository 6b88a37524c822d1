"""Starting training processes (``python -m worker.runner``), one of them ahead of its job.

A training process spends ~1 s importing NumPy, SQLAlchemy and the engine before it can train.
The supervisor keeps one *spare* started ahead of its job (``SPARE_FLAG`` on its command line):
it does its imports while the supervisor waits for work, then reads its job from standard input.
A spare given no job (its stdin closed empty) exits at once.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys

from worker.blas import blas_env
from worker.runner import SPARE_FLAG

log = logging.getLogger("descent.worker")


def spawn_runner(
    *, database_url: str, blas_threads: int, spare: bool = False
) -> subprocess.Popen[bytes]:
    """Start ``python -m worker.runner`` with its BLAS pools sized before NumPy loads."""
    env = {**os.environ, **blas_env(blas_threads), "DESCENT_DATABASE_URL": database_url}
    command = [sys.executable, "-m", "worker.runner", *([SPARE_FLAG] if spare else [])]
    return subprocess.Popen(command, stdin=subprocess.PIPE, env=env)


def signal_process(process: subprocess.Popen[bytes], signum: int) -> None:
    """Send ``signum`` unless the process has exited already."""
    if process.poll() is None:
        try:
            process.send_signal(signum)
        except ProcessLookupError:
            pass


def kill(process: subprocess.Popen[bytes]) -> None:
    signal_process(process, signal.SIGKILL)


class SpareRunner:
    """At most one training process started ahead of its job."""

    def __init__(self, *, database_url: str, blas_threads: int) -> None:
        self.database_url = database_url
        self.blas_threads = blas_threads
        self._spare: subprocess.Popen[bytes] | None = None

    def spawn(self, *, spare: bool = False) -> subprocess.Popen[bytes]:
        return spawn_runner(
            database_url=self.database_url, blas_threads=self.blas_threads, spare=spare
        )

    def refill(self) -> None:
        """Start the next job's process now: its ~1 s of imports overlap the wait for work."""
        if self._spare is None:
            try:
                self._spare = self.spawn(spare=True)
            except OSError:
                log.warning("could not start a spare training process; starting them per job")

    def take(self) -> subprocess.Popen[bytes]:
        """The spare if it is still alive, else a process started now (``OSError`` if none)."""
        spare, self._spare = self._spare, None
        if spare is not None and spare.poll() is not None:
            spare = None  # it died waiting (killed from outside): start a fresh one
        return spare or self.spawn()

    def discard(self) -> None:
        """End the spare, if any: given no job, it exits at once."""
        spare, self._spare = self._spare, None
        if spare is None:
            return
        try:
            assert spare.stdin is not None
            spare.stdin.close()
            spare.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            kill(spare)
            spare.wait()
