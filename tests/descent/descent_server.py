"""A real `descent serve` in a subprocess for system tests (client, CLI, dashboard, ONNX).

``running_server(tmp)`` starts ``python -m service.cli serve`` on a free port with a fresh SQLite
database, one embedded worker and a known bootstrap key, waits for ``GET /readyz`` == 200 and
stops it (SIGTERM, then kill) afterwards. Its output goes to a log file quoted on failure.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.processes import free_port, wait_until_ready

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
        wait_until_ready(server.url, process, log, timeout=READY_SECONDS)
        yield server
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: the server and its workers
        process.wait(timeout=10)
