"""A real `descent serve` in a subprocess for system tests (client, CLI, dashboard, ONNX).

``running_server(tmp)`` starts ``python -m service.cli serve`` on a free port with a fresh SQLite
database, one embedded worker and a known bootstrap key, waits for ``GET /readyz`` == 200 and
stops it (SIGTERM, then kill) afterwards. Its output goes to a log file quoted on failure.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
READY_SECONDS = 90.0


@dataclass(frozen=True)
class Server:
    url: str
    api_key: str
    log: Path

    def env(self) -> dict[str, str]:
        """The environment for a `descent` client subprocess talking to this server."""
        return {**os.environ, "DESCENT_URL": self.url, "DESCENT_API_KEY": self.api_key}

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running_server(directory: Path, *, workers: int = 1) -> Iterator[Server]:
    directory.mkdir(parents=True, exist_ok=True)
    port, key = free_port(), "dk_test_" + secrets.token_hex(16)
    log = directory / "server.log"
    env = {
        **os.environ,
        "DESCENT_DATABASE_URL": f"sqlite:///{directory / 'descent.db'}",
        "DESCENT_BOOTSTRAP_KEY": key,
        "DESCENT_WORKERS": str(workers),
        "DESCENT_HEARTBEAT_SECONDS": "1",
        "DESCENT_POLL_SECONDS": "0.2",
    }
    command = [sys.executable, "-m", "service.cli", "serve", "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", key, log)
    try:
        _wait_ready(process, server)
        yield server
    finally:
        _stop(process)


def _wait_ready(process: subprocess.Popen[bytes], server: Server) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"descent serve exited with {process.returncode}:\n"
                               f"{server.log_tail()}")
        try:
            if httpx.get(f"{server.url}/readyz", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"descent serve not ready after {READY_SECONDS} s:\n{server.log_tail()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: the server and its workers
        process.wait(timeout=10)
