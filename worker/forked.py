"""The supervisor's side of its template process (`worker.template`): the handle that asks it
for spares (`Template`), a spare waiting for its job (`ForkedSpare`), and a training process the
kernel handed over to us as its subreaper (`AdoptedProcess`)."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from typing import Any

from worker.blas import blas_env
from worker.runner import SPARE_FLAG
from worker.template import (
    BLAS_THREADS_FLAG,
    LEASE_SECONDS_FLAG,
    MESSAGE_BYTES,
    READY,
    SOCKET_FD_FLAG,
)

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Make this process (the supervisor) the parent of its orphaned descendants (Linux)."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def _kill(process: Any) -> None:
    if process.poll() is None:
        try:
            process.send_signal(signal.SIGKILL)
        except ProcessLookupError:
            pass


class AdoptedProcess:
    """A training process forked by the template and handed to us by the kernel (we are its
    subreaper): waited for with ``waitpid`` like a ``Popen``'s, so its pid stays ours until we
    have its exit status (no signal can reach a recycled pid)."""

    stdin = None  # its job came with the fork request

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # not ours (cannot happen once adopted): call it lost
                self.returncode = -signal.SIGKILL
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.001
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"training process {self.pid}", timeout or 0.0)
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
        return code

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)


class ForkedSpare:
    """A process forked by the template, adopted, waiting on its pipe for a job."""

    def __init__(self, pid: int, payload_fd: int) -> None:
        self.process = AdoptedProcess(pid)
        self._payload_fd = payload_fd

    def hand(self, payload: dict[str, Any]) -> AdoptedProcess:
        """Give it its job (it starts at once)."""
        data = json.dumps(payload, default=str).encode()
        try:
            with os.fdopen(self._payload_fd, "wb") as pipe:
                pipe.write(data)
        except BrokenPipeError:
            pass  # it died waiting: its exit status tells how
        return self.process

    def discard(self) -> None:
        """Its pipe closed empty, it exits; reaped here."""
        os.close(self._payload_fd)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _kill(self.process)
            self.process.wait()


class Template:
    """The supervisor's handle on its template process (`worker.template`)."""

    def __init__(self, *, database_url: str, blas_threads: int, lease_seconds: float) -> None:
        env = {**os.environ, **blas_env(blas_threads), "DESCENT_DATABASE_URL": database_url}
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "worker.template", SPARE_FLAG,
                 SOCKET_FD_FLAG, str(theirs.fileno()), BLAS_THREADS_FLAG, str(blas_threads),
                 LEASE_SECONDS_FLAG, repr(float(lease_seconds))],
                stdin=subprocess.DEVNULL, env=env, pass_fds=(theirs.fileno(),),
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self._sock = ours
        self.ready = False
        self._asked: int | None = None  # the write end of the pipe of a spare asked for

    def alive(self) -> bool:
        return self.process.poll() is None

    def ask_for_spare(self) -> None:
        """Ask for a process forked ahead of its job (`take_spare` collects it)."""
        if self._asked is not None or not self.ready:
            return
        read_end, write_end = os.pipe()
        try:
            socket.send_fds(self._sock, [b"spare"], [read_end])
        except OSError:
            os.close(write_end)
            raise
        finally:
            os.close(read_end)
        self._asked = write_end

    def take_spare(self, *, wait: float) -> ForkedSpare | None:
        """The spare asked for, once the template has forked it (waiting up to ``wait``
        seconds); None before. ``OSError`` if the template failed."""
        while True:
            message = self._receive(wait if self._asked is not None or not self.ready else 0.0)
            if message is None:
                return None
            if message == READY:
                self.ready = True
                self.ask_for_spare()
                continue
            write_end, self._asked = self._asked, None
            if write_end is None:
                continue
            if not message.isdigit():
                os.close(write_end)
                raise OSError(f"the template process could not fork: {message.decode()}")
            return ForkedSpare(int(message), write_end)

    def _receive(self, wait: float) -> bytes | None:
        if not select.select([self._sock], [], [], wait)[0]:
            return None
        message = self._sock.recv(MESSAGE_BYTES)
        if not message:
            raise OSError("the template process exited")
        return message

    def close(self) -> None:
        if self._asked is not None:
            os.close(self._asked)
            self._asked = None
        self._sock.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _kill(self.process)
            self.process.wait()
