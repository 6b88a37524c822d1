"""Start `descent serve` as a real process on a free port and wait until it is ready."""

from __future__ import annotations

import os
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
KEY = "dk_system-test-bootstrap-key"


@dataclass
class Served:
    url: str
    key: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serve(tmp: Path, *, workers: int = 2, **env: str) -> Iterator[Served]:
    port = free_port()
    environment = {
        **os.environ,
        "DESCENT_DATABASE_URL": f"sqlite:///{tmp / 'descent.db'}",
        "DESCENT_BOOTSTRAP_KEY": KEY,
        "DESCENT_HEARTBEAT_SECONDS": "0.5",
        "DESCENT_POLL_SECONDS": "0.2",
        "DESCENT_GRACE_SECONDS": "5",
        "DESCENT_BLAS_THREADS": "1",
        **env,
    }
    log = tmp / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--port", str(port),
             "--workers", str(workers)],
            cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"descent serve exited:\n{log.read_text()}")
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"descent serve never became ready:\n{log.read_text()}")
            time.sleep(0.2)
        yield Served(url=url, key=KEY, process=process, log=log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
