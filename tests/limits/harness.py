"""Measuring an attack on a real `descent serve`: the API process's memory and `/healthz` latency.

Every resource-safety test has the same shape: start the service, note the API process's
resident memory, reset its peak, run the attack while a probe thread polls ``/healthz``, then
assert the bound on the peak growth (``VmHWM`` after − ``VmRSS`` before, from ``/proc``), the
probe's p99 latency, the attack's status code, and the database's state.

    with serve(tmp_path, workers=0) as served, Attack(served) as attack:
        response = httpx.post(...)                 # the attack
    assert attack.healthz_p99 < 0.25
    assert attack.rss_growth < 50 * MB
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

MB = 1024 * 1024


def _status_field(pid: int, field: str) -> int:
    """A ``kB`` field of ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def rss_bytes(pid: int) -> int:
    return _status_field(pid, "VmRSS")


def peak_rss_bytes(pid: int) -> int:
    return _status_field(pid, "VmHWM")


def reset_peak_rss(pid: int) -> None:
    """Make ``VmHWM`` start again from the current RSS (Linux ≥ 4.0: ``clear_refs`` 5)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("inf")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Attack:
    """Context manager around an attack on ``served`` (a `tests.system.served.Served`).

    While the block runs, a thread requests ``/healthz`` every ``interval`` seconds (each request
    has ``timeout`` seconds; one that times out counts as taking ``timeout``). Afterwards:
    ``healthz_p99`` (seconds), ``healthz_max``, ``rss_before``, ``rss_peak``, ``rss_growth``
    (bytes; peak during the block minus resident before it).
    """

    def __init__(self, served: Any, *, interval: float = 0.02, timeout: float = 30.0) -> None:
        self.served = served
        self.pid: int = served.process.pid
        self.interval = interval
        self.timeout = timeout
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._probe, name="healthz-probe", daemon=True)
        self.rss_before = 0
        self.rss_peak = 0

    def __enter__(self) -> Attack:
        self.rss_before = rss_bytes(self.pid)
        reset_peak_rss(self.pid)
        self._thread.start()
        # At least one answer before the attack starts: the probe itself works.
        deadline = time.monotonic() + 10
        while not self.latencies and time.monotonic() < deadline:
            time.sleep(0.01)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=self.timeout + 5)
        self.rss_peak = peak_rss_bytes(self.pid)

    def _probe(self) -> None:
        with httpx.Client(timeout=self.timeout) as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    client.get(f"{self.served.url}/healthz")
                    self.latencies.append(time.perf_counter() - started)
                except httpx.TransportError:
                    self.latencies.append(max(time.perf_counter() - started, self.timeout))
                self._stop.wait(self.interval)

    @property
    def healthz_p99(self) -> float:
        return percentile(self.latencies, 0.99)

    @property
    def healthz_max(self) -> float:
        return max(self.latencies, default=float("inf"))

    @property
    def rss_growth(self) -> int:
        return max(0, self.rss_peak - self.rss_before)

    def summary(self) -> str:
        return (f"/healthz p99 {self.healthz_p99 * 1000:.1f} ms (max "
                f"{self.healthz_max * 1000:.1f} ms, {len(self.latencies)} probes); API RSS "
                f"{self.rss_before / MB:.0f} MB → peak {self.rss_peak / MB:.0f} MB "
                f"(+{self.rss_growth / MB:.1f} MB)")
