"""What the service benchmark runs against: real `descent serve` / `descent worker` processes on a
fresh SQLite file or a fresh PostgreSQL database, and their CPU time."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
KEY = "dk_service-benchmark-bootstrap-key"
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


@dataclass
class Served:
    """A running `descent serve --workers 0` and the `descent worker` processes we add to it."""

    url: str
    database_url: str
    process: subprocess.Popen[bytes]
    tmp: Path
    env: dict[str, str]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def client(self, **kwargs: object) -> httpx.Client:
        headers = {"Authorization": f"Bearer {KEY}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120, **kwargs)  # type: ignore[arg-type]

    def start_workers(self, count: int) -> None:
        """Start ``count`` `descent worker --concurrency 1` processes; return once each runs."""
        logs = []
        for _ in range(count):
            log = self.tmp / f"worker-{uuid.uuid4().hex[:8]}.log"
            with open(log, "wb") as out:
                self.workers.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "service.cli", "worker", "--concurrency", "1",
                         "--database-url", self.database_url],
                        cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                    )
                )
            logs.append(log)
        deadline = time.monotonic() + 60
        for log, process in zip(logs, self.workers[-count:], strict=True):
            while not re.search(r"worker \S+ started", log.read_text(errors="replace")):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"descent worker did not start:\n{log.read_text()}")
                time.sleep(0.05)

    def stop_workers(self) -> None:
        for process in self.workers:
            process.send_signal(signal.SIGTERM)
        for process in self.workers:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.workers.clear()


@contextmanager
def serve(database_url: str, tmp: Path) -> Iterator[Served]:
    """`descent serve --workers 0` on a free port (production settings but a known API key and
    one BLAS thread per training process), until the block ends."""
    port = free_port()
    env = {
        **os.environ,
        "DESCENT_DATABASE_URL": database_url,
        "DESCENT_BOOTSTRAP_KEY": KEY,
        "DESCENT_BLAS_THREADS": "1",
    }
    log = tmp / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--workers", "0"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    served = Served(f"http://127.0.0.1:{port}", database_url, process, tmp, env)
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"descent serve exited:\n{log.read_text()}")
            try:
                if httpx.get(f"{served.url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"descent serve never became ready:\n{log.read_text()}")
            time.sleep(0.1)
        yield served
    finally:
        served.stop_workers()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A fresh database on the server of ``server_url`` for this run, dropped afterwards."""
    import psycopg

    name = f"descent_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    base, _, _ = server_url.rpartition("/")
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
