"""Small jobs: what a job costs when training is nearly free (1 epoch, 40 rows, the default
network), against `descent worker` processes that are already warm (their template process has
done its imports).

* latency — one job at a time: submit → ``finished_at``, and its two halves, submit →
  ``started_at`` (the claim) and ``started_at`` → ``finished_at`` (the training process);
* throughput — a backlog of jobs queued while the workers are paused (SIGSTOP), then released
  together: jobs / (last ``finished_at`` − first ``started_at``), for 1 and 2 worker processes;
* CPU per job — over the 1-worker backlog, the CPU time of the worker process, of the training
  processes it waited for (``cutime``/``cstime``) and of the API server (the submits are done
  by then; the benchmark's status polls are not), per job: what a job costs the machine
  whatever else runs on it — on a shared machine the rates above are not the service's alone.

Job times come from the job object (the database host's clock, this machine's).
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from benchmarks.service_bench.measures import (
    classification_data,
    percentiles,
    submit,
    upload,
    wait_job,
    when,
)
from benchmarks.service_bench.processes import TICKS, Served

ROWS, FEATURES, CLASSES = 40, 4, 2
WORKERS = (1, 2)


def small_job(dataset_id: str) -> dict[str, Any]:
    """1 epoch, the default network and training (but early stopping, moot for one epoch)."""
    return {"dataset_id": dataset_id, "training": {"epochs": 1}}


def small_dataset(client: httpx.Client) -> str:
    X, y = classification_data(ROWS, FEATURES, CLASSES, seed=4)
    return upload(client, "small-jobs", X, y)


def latency(client: httpx.Client, dataset_id: str, *, samples: int) -> dict[str, float]:
    """p50s of submit → succeeded and its halves, one job at a time (a warm, idle worker)."""
    total, pickup, run = [], [], []
    for _ in range(samples):
        sent = time.time()
        # Times from the job object: the poll's period does not count, but its requests take
        # the API's CPU from the job's (on 2 cores), so it polls no faster than this.
        job = wait_job(client, submit(client, small_job(dataset_id))["id"], timeout=120,
                       poll=0.025)
        finished, started = when(job["finished_at"]), when(job["started_at"])
        total.append(finished - sent)
        pickup.append(started - sent)
        run.append(finished - started)
        time.sleep(0.05)  # idle between jobs, as a user's next submit would find it
    return {"p50": percentiles(total)[0], "p99": percentiles(total)[1],
            "pickup_p50": percentiles(pickup)[0], "run_p50": percentiles(run)[0]}


def cpu(pids: list[int]) -> np.ndarray:
    """CPU seconds (user + system) of processes ``pids``: ``[their own, of the children they
    waited for]``."""
    total = np.zeros(2)
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        total += [int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])]
    return total / TICKS


def throughput(
    served: Served, client: httpx.Client, dataset_id: str, *, jobs: int
) -> tuple[float, list[float]]:
    """(jobs per second, CPU seconds per job ``[supervisors, training processes, API]``) from a
    backlog of ``jobs``, released at once to the running workers."""
    workers = list(served.workers)
    for process in workers:
        process.send_signal(signal.SIGSTOP)
    try:
        ids = [submit(client, small_job(dataset_id))["id"] for _ in range(jobs)]
    finally:
        pids = [w.pid for w in workers]
        before, api_before = cpu(pids), cpu([served.process.pid])[0]
        for process in workers:
            process.send_signal(signal.SIGCONT)
    done = [wait_job(client, job_id, timeout=600, poll=0.05) for job_id in ids]
    spent = [*(cpu(pids) - before), cpu([served.process.pid])[0] - api_before]
    first = min(when(job["started_at"]) for job in done)
    last = max(when(job["finished_at"]) for job in done)
    return jobs / (last - first), [float(x) / jobs for x in spent]


def small_jobs(served: Served, client: httpx.Client, *, quick: bool) -> dict[str, Any]:
    """Latency with one warm worker, then throughput with 1 and 2 worker processes."""
    dataset_id = small_dataset(client)
    out: dict[str, Any] = {"throughput": {}, "cpu": {}}
    for workers in WORKERS:
        served.start_workers(workers)
        try:
            # Warm: every worker's template ready, the API's and the database's caches.
            warm = [submit(client, small_job(dataset_id))["id"] for _ in range(4 * workers)]
            for job_id in warm:
                wait_job(client, job_id, timeout=300)
            if workers == 1:
                out["latency"] = latency(client, dataset_id, samples=10 if quick else 30)
            out["throughput"][workers], out["cpu"][workers] = throughput(
                served, client, dataset_id,
                jobs=(25 if quick else 45) * workers)  # ≤ 100: the tenant's queued-jobs limit
        finally:
            served.stop_workers()
    return out


def rows(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The table's rows for `small_jobs`'s results."""
    lat, rate = r["latency"], r["throughput"]
    one, two = rate[1], rate[2]
    ms = 1000.0
    return [
        ("small job submit→succeeded p50 / p99",
         f"{lat['p50'] * ms:.1f} / {lat['p99'] * ms:.1f} ms", "p50 ≤ 80 ms"),
        ("small job: submit→started / started→finished p50",
         f"{lat['pickup_p50'] * ms:.1f} / {lat['run_p50'] * ms:.1f} ms", ""),
        ("small jobs/s, 1 worker process", f"{one:.1f}", "≥ 15"),
        ("small jobs/s, 2 worker processes (÷ 1)", f"{two:.1f} ({two / one:.2f}×)", "≥ 1.7×"),
        ("small job CPU: supervisor / training process / API (+ its polls)",
         " / ".join(f"{x * ms:.1f}" for x in r["cpu"][1]) + " ms", ""),
    ]

