"""Start `descent serve` as a real process on a free port and wait until it is ready."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.processes import free_port, wait_until_ready

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
        wait_until_ready(url, process, log, timeout=60)
        yield Served(url=url, key=KEY, process=process, log=log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
