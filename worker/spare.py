"""Starting training processes: forked from a warm template, or ``python -m worker.runner``.

A fresh interpreter spends ~1 s importing NumPy, SQLAlchemy and the engine before it can train
— most of a small job. So the supervisor keeps one *template* process (`worker.template`) that
did those imports (and one tiny training run) once, and forks each job's training process from
it in milliseconds; the forked process becomes the supervisor's own child (the supervisor is a
child subreaper), so it is waited for, signalled and limited exactly like one it started itself.
The template is restarted when it dies; until it is ready again, claims wait (`ready`).

Where a template cannot work (not Linux: no subreaper), each job gets ``python -m
worker.runner`` as before, with one *spare* started ahead of its job (``SPARE_FLAG`` on its
command line): it does its imports while the supervisor waits for work, then reads its job from
standard input. A spare given no job (its stdin closed empty) exits at once.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from typing import Any, Protocol

from worker.blas import blas_env
from worker.forked import ForkedSpare, Template, become_subreaper
from worker.runner import SPARE_FLAG

log = logging.getLogger("descent.worker")

# Templates in a row that may die before they are ready before the worker does without one.
TEMPLATE_ATTEMPTS = 3


class JobProcess(Protocol):
    """What the supervisor needs of a training process (a ``subprocess.Popen`` has it)."""

    pid: int
    returncode: int | None
    stdin: Any

    def poll(self) -> int | None: ...
    def wait(self, timeout: float | None = None) -> int: ...
    def send_signal(self, sig: int) -> None: ...


def spawn_runner(
    *, database_url: str, blas_threads: int, spare: bool = False
) -> subprocess.Popen[bytes]:
    """Start ``python -m worker.runner`` with its BLAS pools sized before NumPy loads."""
    env = {**os.environ, **blas_env(blas_threads), "DESCENT_DATABASE_URL": database_url}
    command = [sys.executable, "-m", "worker.runner", *([SPARE_FLAG] if spare else [])]
    return subprocess.Popen(command, stdin=subprocess.PIPE, env=env)


def signal_process(process: JobProcess, signum: int) -> None:
    """Send ``signum`` unless the process has exited already."""
    if process.poll() is None:
        try:
            process.send_signal(signum)
        except ProcessLookupError:
            pass


def kill(process: JobProcess) -> None:
    signal_process(process, signal.SIGKILL)


def _close(process: subprocess.Popen[bytes]) -> None:
    """End a template or spare: its stdin closed, it exits at once (or is killed)."""
    try:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        kill(process)
        process.wait()


class Launcher:
    """Starts each job's training process: a spare forked from the template where one can run,
    else a spare ``python -m worker.runner``."""

    def __init__(self, *, database_url: str, blas_threads: int, lease_seconds: float) -> None:
        self.database_url = database_url
        self.blas_threads = blas_threads
        self.lease_seconds = lease_seconds
        self.use_template = sys.platform == "linux" and become_subreaper()
        self._template: Template | None = None
        self._failures = 0  # templates in a row that died before they were ready
        self._forked: ForkedSpare | None = None
        self._spare: subprocess.Popen[bytes] | None = None

    def refill(self) -> None:
        """Have the next job's process on its way: a forked spare (the template started again
        if it died), or a spare whose ~1 s of imports overlaps the wait for work."""
        try:
            if self.use_template:
                template = self._template
                if template is not None and not template.alive():
                    log.warning("the template process exited; starting another")
                    self._failures += 0 if template.ready else 1
                    self._discard_template()
                    template = None
                if self._failures >= TEMPLATE_ATTEMPTS:  # it cannot start: do without
                    log.error("the template process failed %d times before it was ready;"
                              " starting training processes cold", self._failures)
                    self.use_template = False
                    self.refill()
                    return

                if template is None:
                    template = self._template = Template(
                        database_url=self.database_url, blas_threads=self.blas_threads,
                        lease_seconds=self.lease_seconds)
                if self._forked is None:
                    template.ask_for_spare()
            elif self._spare is None:
                self._spare = spawn_runner(database_url=self.database_url,
                                           blas_threads=self.blas_threads, spare=True)
        except OSError:
            log.exception("could not start a template or spare process")
            self._discard_template()

    def ready(self, *, wait: float = 0.0) -> bool:
        """Whether a job could start now without waiting for imports: a forked spare is
        ready (waiting up to ``wait`` seconds for the one asked for). Without a template,
        always: the job's process starts cold."""
        if not self.use_template:
            return True
        if self._forked is not None and self._forked.process.poll() is not None:
            self._forked = None  # it died waiting (killed from outside)
        self.refill()
        template = self._template
        if self._forked is None and template is not None:
            try:
                self._forked = template.take_spare(wait=wait)
            except OSError as exc:
                log.warning("the template process failed: %s", exc)
                self._failures += 0 if template.ready else 1
                self._discard_template()
            if template.ready:
                self._failures = 0
        return self._forked is not None

    def start(self, payload: dict[str, Any]) -> JobProcess:
        """The job's training process, its payload handed over (``OSError`` if none starts)."""
        forked, self._forked = self._forked, None
        if forked is not None and forked.process.poll() is None:
            process: JobProcess = forked.hand(payload)
        else:
            spare, self._spare = self._spare, None
            if spare is not None and spare.poll() is not None:
                spare = None  # it died waiting (killed from outside): start a fresh one
            process = spare or spawn_runner(database_url=self.database_url,
                                            blas_threads=self.blas_threads)
            assert process.stdin is not None
            try:
                process.stdin.write(json.dumps(payload, default=str).encode())
                process.stdin.close()
            except BrokenPipeError:
                pass  # it died at once; its exit status tells how
        self.refill()
        return process

    def _discard_template(self) -> None:
        template, self._template = self._template, None
        if template is not None:
            template.close()

    def discard(self) -> None:
        """End the spares and the template: given no job, each exits at once."""
        forked, self._forked = self._forked, None
        if forked is not None:
            forked.discard()
        self._discard_template()
        spare, self._spare = self._spare, None
        if spare is not None:
            _close(spare)
