"""The load run: many concurrent clients mixing job polls, history reads and predictions.

The clients are threads, each with its own keep-alive `httpx.Client`, spread over a few
processes so that the load generator is not held back by one GIL; each process reports its own
CPU time, so the table can show that the generator was not the bottleneck. The clock starts
once every process is up (a barrier, not a fixed head start: on a busy machine spawning them
can take longer than the run); a run that completes no request reports zero requests and no
latencies rather than failing.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

READY_SECONDS = 180.0  # spawning the generator processes, however busy the machine
HEAD_START_SECONDS = 0.5  # after the barrier: every thread started and waiting

# What one client does next, by weight: poll a job, read a history, predict one row.
MIX = (("poll", 0.4), ("history", 0.3), ("predict", 0.3))


@dataclass(frozen=True)
class Targets:
    url: str
    key: str
    job_ids: list[str]
    model_id: str
    predict_body: bytes


def _client_loop(targets: Targets, seed: int, start: float, stop: float, out: list[Any],
                 interval: float | None = None) -> None:
    """Requests back to back, or (``interval``) one every ``interval`` seconds on a schedule
    that does not wait for slow answers to catch up (latency counts from the scheduled time)."""
    rng = random.Random(seed)
    names = [name for name, _ in MIX]
    weights = [weight for _, weight in MIX]
    headers = {"Authorization": f"Bearer {targets.key}", "Content-Type": "application/json"}
    with httpx.Client(base_url=targets.url, headers=headers, timeout=30) as client:
        due = start + (rng.uniform(0.0, interval) if interval else 0.0)
        time.sleep(max(0.0, due - time.time()))
        while time.time() < stop:
            op = rng.choices(names, weights)[0]
            job_id = rng.choice(targets.job_ids)
            late = max(0.0, time.time() - due) if interval else 0.0  # behind the schedule
            began = time.perf_counter() - late
            try:
                if op == "poll":
                    answer = client.get(f"/v1/jobs/{job_id}")
                elif op == "history":
                    answer = client.get(f"/v1/jobs/{job_id}/history")
                else:
                    answer = client.post(
                        f"/v1/models/{targets.model_id}/predict", content=targets.predict_body
                    )
                answer.read()
                ok = answer.status_code == 200
            except httpx.HTTPError:
                ok = False
            out.append((op, time.perf_counter() - began, ok))
            if interval:
                due += interval
                time.sleep(max(0.0, due - time.time()))


def _process(targets: Targets, clients: int, seed: int, seconds: float, ready: Any,
             results: Any, interval: float | None = None) -> None:
    ready.wait(timeout=READY_SECONDS)
    start = time.time() + HEAD_START_SECONDS
    stop = start + seconds
    samples: list[Any] = []
    before = os.times()
    threads = [
        threading.Thread(target=_client_loop,
                         args=(targets, seed * 1000 + i, start, stop, samples, interval))
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    after = os.times()
    cpu = (after.user - before.user) + (after.system - before.system)
    results.put({"samples": samples, "cpu": cpu})


def run_load(
    targets: Targets, *, clients: int, seconds: float, processes: int = 2,
    rate: float | None = None,
) -> dict[str, Any]:
    """Closed-loop load for ``seconds`` (or, with ``rate``, that many requests per second in
    all, each client on its own schedule); requests/s, p50/p99 latency, errors, generator
    CPU."""
    interval = clients / rate if rate else None
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    share = [clients // processes + (i < clients % processes) for i in range(processes)]
    ready = context.Barrier(processes + 1)
    workers = [
        context.Process(target=_process, args=(targets, n, i, seconds, ready, results, interval))
        for i, n in enumerate(share)
    ]
    for worker in workers:
        worker.start()
    ready.wait(timeout=READY_SECONDS)
    reports = [results.get(timeout=seconds + 120) for _ in workers]
    for worker in workers:
        worker.join()
    samples = [s for report in reports for s in report["samples"]]
    latencies = sorted(took for _, took, _ in samples)
    errors = sum(1 for _, _, ok in samples if not ok)

    by_op = {
        name: sorted(took for op, took, _ in samples if op == name) for name, _ in MIX
    }
    return {
        "requests": len(samples), "rps": len(samples) / seconds if seconds else 0.0,
        "errors": errors,
        "p50": quantile(latencies, 0.5), "p99": quantile(latencies, 0.99),
        "p99_by_op": {k: quantile(v, 0.99) for k, v in by_op.items() if v},
        "generator_cpu": sum(report["cpu"] for report in reports) / max(seconds, 1e-9),
    }


def quantile(ordered: list[float], q: float) -> float:
    """The ``q`` quantile of sorted values; NaN (shown as "-") when there are none."""
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def predict_body(features: int) -> bytes:
    return json.dumps({"inputs": [[0.5] * features]}).encode()
