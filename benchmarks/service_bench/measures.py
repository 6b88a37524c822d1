"""The service benchmark's measurements, each against a running `descent serve` (see `processes`).

Latencies are the client's wall clock from sending a request (its body already encoded) to having
read the whole answer, over one keep-alive connection. Job times come from the job object:
``created_at``/``started_at``/``finished_at`` are stamped by the database host, which is this
machine, so they compare with the client's clock.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from typing import Any

import httpx
import numpy as np

from benchmarks.service_bench.processes import Served

FINAL = {"succeeded", "failed", "cancelled"}


def percentiles(values: list[float]) -> tuple[float, float]:
    """(p50, p99) of ``values``."""
    p50, p99 = np.percentile(np.asarray(values, dtype=np.float64), [50, 99])
    return float(p50), float(p99)


def when(stamp: str) -> float:
    """An API timestamp as seconds since the epoch."""
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


# --- data and jobs ---------------------------------------------------------------------------


def classification_data(rows: int, features: int, classes: int, seed: int) -> tuple[Any, Any]:
    """``X ~ N(0, 1)`` (float64) and labels from a random linear map (learnable)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, features))
    y = (X @ rng.standard_normal((features, classes))).argmax(axis=1)
    return X, y


def upload(client: httpx.Client, name: str, X: Any, y: Any) -> str:
    body = {"name": name, "features": X.tolist(), "targets": y.tolist()}
    answer = client.post("/v1/datasets", json=body)
    answer.raise_for_status()
    return str(answer.json()["id"])


def submit(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    answer = client.post("/v1/jobs", json=body)
    if answer.status_code not in (200, 202):
        raise RuntimeError(f"submit failed: {answer.status_code} {answer.text}")
    job: dict[str, Any] = answer.json()
    return job


def wait_job(client: httpx.Client, job_id: str, *, timeout: float, poll: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in FINAL:
            if job["status"] != "succeeded":
                raise RuntimeError(f"job {job_id} ended {job['status']}: {job.get('error')}")
            return job
        if time.monotonic() > deadline:
            raise RuntimeError(f"job {job_id} still {job['status']} after {timeout:.0f}s")
        time.sleep(poll)


def tiny_job(dataset_id: str) -> dict[str, Any]:
    """A one-epoch job on a small dataset: nearly all of its time is the service's."""
    return {
        "dataset_id": dataset_id,
        "network": {"hidden_layers": [{"units": 8, "activation": "relu"}]},
        "training": {"epochs": 1, "batch_size": 32, "early_stopping": None},
    }


# --- predict ---------------------------------------------------------------------------------


def predict_latency(
    client: httpx.Client, model_id: str, *, features: int, rounds: int, big_rounds: int
) -> dict[str, float]:
    """p50/p99 of `/healthz`, predict of 1 row and of 1,000 rows (interleaved with `/healthz`)."""
    rng = np.random.default_rng(1)
    headers = {"Content-Type": "application/json"}
    one = json.dumps({"inputs": rng.standard_normal((1, features)).tolist()}).encode()
    big = json.dumps({"inputs": rng.standard_normal((1000, features)).tolist()}).encode()
    path = f"/v1/models/{model_id}/predict"

    def timed(method: str, url: str, content: bytes | None = None) -> float:
        started = time.perf_counter()
        answer = client.request(method, url, content=content, headers=headers)
        answer.read()
        took = time.perf_counter() - started
        if answer.status_code != 200:
            raise RuntimeError(f"{method} {url}: {answer.status_code} {answer.text[:300]}")
        return took

    for _ in range(20):  # warm: the model cache, the connection, the thread pool
        timed("GET", "/healthz"), timed("POST", path, one), timed("POST", path, big)
    health, small, large = [], [], []
    for i in range(rounds):
        health.append(timed("GET", "/healthz"))
        small.append(timed("POST", path, one))
        if i < big_rounds:
            large.append(timed("POST", path, big))
    h50, h99 = percentiles(health)
    s50, s99 = percentiles(small)
    l50, l99 = percentiles(large)
    return {
        "health_p50": h50, "health_p99": h99, "one_p50": s50, "one_p99": s99,
        "big_p50": l50, "big_p99": l99, "big_rows_per_s": 1000 / float(np.mean(large)),
    }


# --- the queue -------------------------------------------------------------------------------


def pickup(client: httpx.Client, dataset_id: str, *, samples: int) -> dict[str, float]:
    """Seconds from a submit's answer (client clock) to the job's ``started_at`` (the claim),
    with one idle worker. Each submit comes at a random moment (uniform over a second) after
    the previous job ended, so a polling worker is caught at every phase of its poll."""
    rng = random.Random(2)
    delays, posts = [], []
    for _ in range(samples):
        time.sleep(rng.uniform(0.0, 1.0))
        sent = time.time()
        job = submit(client, tiny_job(dataset_id))
        answered = time.time()
        done = wait_job(client, job["id"], timeout=120)
        delays.append(when(done["started_at"]) - answered)
        posts.append(answered - sent)
    p50, p99 = percentiles(delays)
    return {"p50": p50, "p99": p99, "post_p50": percentiles(posts)[0]}


def tiny_throughput(
    served: Served, client: httpx.Client, dataset_id: str, *, workers: int, jobs: int
) -> float:
    """Jobs per second that ``workers`` worker processes finish from a backlog of ``jobs`` tiny
    jobs: jobs / (last ``finished_at`` - first ``created_at``), the database's own clock."""
    served.start_workers(workers)
    try:
        ids = [submit(client, tiny_job(dataset_id))["id"] for _ in range(jobs)]
        finished = [wait_job(client, job_id, timeout=600, poll=0.05) for job_id in ids]
    finally:
        served.stop_workers()
    first = min(when(job["created_at"]) for job in finished)
    last = max(when(job["finished_at"]) for job in finished)
    return jobs / (last - first)
