"""Big data in (issue 20): uploads of MNIST-sized datasets as files, a job on one, and a 2 GB
upload in parts, against a running `descent serve` (see `processes`).

- ``upload_seconds``: a multipart ``POST /v1/datasets`` of an ``.npz`` file, streamed from disk,
  until the answer (parse, hash, store included): 60,000 × 784 ``uint8`` pixels saved with
  ``savez_compressed`` (random pixels do not compress: ~47 MB) and the same shape ``float32``
  saved with ``savez`` (~188 MB).
- ``job``: a 2-epoch job on the ``uint8`` dataset with one worker: its started→finished against
  ``worker.nn.train`` called directly on the same numbers as float64 (in this process, one BLAS
  thread), and claim → training: from the job's ``started_at`` (its claim) to its first epoch's
  beginning (that epoch's history row, read from the database, less its seconds): reading the
  dataset, converting it, splitting, fitting the pipeline.
- ``chunked``: a ~2.04 GB ``uint8`` ``.npz`` sent in 16 MiB parts with the SDK
  (``descent.chunked``), the API process's resident memory sampled every 50 ms: growth of its
  anonymous memory (heap, arrays) and of its whole RSS (which also counts file pages it maps),
  over the idle baseline.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from threadpoolctl import threadpool_limits

from benchmarks.service_bench.measures import submit, wait_job, when
from benchmarks.service_bench.processes import KEY, Served
from service.artifacts import write_npz
from worker.nn import Network, train

ROWS, PIXELS, CLASSES = 60_000, 784, 10
NETWORK = {"hidden_layers": [{"units": 64, "activation": "relu"}]}
TRAINING = {"epochs": 2, "batch_size": 64, "seed": 0, "early_stopping": None}
BIG_ROWS = 2_600_000  # × 784 uint8 ≈ 2.04 GB (under the 2 GiB default limit)


def mnist_like(rows: int = ROWS, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, (rows, PIXELS), dtype=np.uint8)
    y = rng.integers(0, CLASSES, rows)
    return X, y


def upload_file(client: httpx.Client, path: Path) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    with open(path, "rb") as file:
        answer = client.post("/v1/datasets", files={"file": (path.name, file)},
                             data={"name": path.stem}, timeout=600)
    seconds = time.perf_counter() - started
    if answer.status_code not in (200, 201):
        raise RuntimeError(f"upload of {path.name} failed: {answer.status_code} {answer.text}")
    return seconds, answer.json()


def train_directly(X: np.ndarray, y: np.ndarray) -> float:
    Y = np.zeros((y.shape[0], CLASSES))
    Y[np.arange(y.shape[0]), y] = 1.0
    with threadpool_limits(limits=1):
        net = Network.from_spec(NETWORK, X.shape[1], CLASSES, seed=0, task="classification")
        started = time.perf_counter()
        train(net, X, Y, dict(TRAINING), task="classification")
        return time.perf_counter() - started


def job_on(served: Served, client: httpx.Client, dataset_id: str, X: np.ndarray,
           y: np.ndarray, repeat: int) -> dict[str, Any]:
    Xf = X.astype(np.float64)
    direct = min(train_directly(Xf, y) for _ in range(repeat))
    del Xf
    served.start_workers(1)
    try:
        runs = []
        for _ in range(repeat):
            job = submit(client, {"dataset_id": dataset_id, "task": "classification",
                                  "network": NETWORK, "training": TRAINING})
            done = wait_job(client, job["id"], timeout=600, poll=0.05)
            span = when(done["finished_at"]) - when(done["started_at"])
            runs.append((span, first_epoch_began(served, job["id"]) - when(done["started_at"])))
    finally:
        served.stop_workers()
    span, to_training = min(runs)
    return {"direct": direct, "span": span, "ratio": span / direct, "to_training": to_training}


def first_epoch_began(served: Served, job_id: str) -> float:
    """When the job's first epoch began: its history row's time (stamped by the database host,
    this machine) less the epoch's seconds."""
    from sqlalchemy import select

    from service import tables
    from service.db import connect

    db = connect(served.database_url)
    try:
        with db.read() as session:
            row = session.scalar(select(tables.JobEpoch).where(
                tables.JobEpoch.job_id == job_id, tables.JobEpoch.epoch == 1))
    finally:
        db.dispose()
    assert row is not None
    return row.created_at.timestamp() - row.seconds


def _memory(pid: int) -> tuple[int, int]:
    """(RSS, anonymous RSS) of ``pid`` in bytes (Linux ``/proc``)."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon"):
            found[key] = int(value.split()[0]) * 1024
    return found.get("VmRSS", 0), found.get("RssAnon", 0)


def big_npz(path: Path, rows: int = BIG_ROWS) -> None:
    """A ~2 GB ``.npz`` of random ``uint8`` pixels, written through a memory map (this process
    never holds it whole)."""
    pixels = np.lib.format.open_memmap(path.with_suffix(".X.npy"), mode="w+", dtype=np.uint8,
                                       shape=(rows, PIXELS))
    rng = np.random.default_rng(1)
    for start in range(0, rows, 100_000):
        stop = min(rows, start + 100_000)
        pixels[start:stop] = rng.integers(0, 256, (stop - start, PIXELS), dtype=np.uint8)
    y = rng.integers(0, CLASSES, rows)
    with open(path, "wb") as out:
        write_npz({"X": pixels, "y": y}, out, zipfile.ZIP_STORED)
    del pixels
    path.with_suffix(".X.npy").unlink()


def chunked_upload(served: Served, folder: Path) -> dict[str, Any]:
    from descent import Client

    path = folder / "big.npz"
    big_npz(path)
    pid = served.process.pid
    base_rss, base_anon = _memory(pid)
    peak = [base_rss, base_anon]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            rss, anon = _memory(pid)
            peak[0], peak[1] = max(peak[0], rss), max(peak[1], anon)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        with Client(served.url, KEY, timeout=1800) as client:
            dataset = client.upload_dataset(path, chunked=True)
    finally:
        done.set()
        sampler.join()
    seconds = time.perf_counter() - started
    size = path.stat().st_size
    path.unlink()
    return {"bytes": size, "seconds": seconds, "rows": dataset.n_rows,
            "rss_growth": peak[0] - base_rss, "anon_growth": peak[1] - base_anon}


def big_data(served: Served, client: httpx.Client, *, quick: bool) -> dict[str, Any]:
    """The measures; ``quick``: a twentieth of the rows (a smoke run) and no 2 GB run."""
    out: dict[str, Any] = {"rows": ROWS // 20 if quick else ROWS}
    with tempfile.TemporaryDirectory(prefix="descent-bigdata-") as tmp:
        folder = Path(tmp)
        X, y = mnist_like(out["rows"])
        pixels = folder / "mnist-uint8.npz"
        np.savez_compressed(pixels, X=X, y=y)
        floats = folder / "mnist-float32.npz"
        np.savez(floats, X=X.astype(np.float32) / 255, y=y)
        out["uint8_bytes"] = pixels.stat().st_size
        out["uint8_seconds"], answer = upload_file(client, pixels)
        out["float32_bytes"] = floats.stat().st_size
        out["float32_seconds"], _ = upload_file(client, floats)
        os.remove(floats)
        out["job"] = job_on(served, client, answer["id"], X, y, repeat=1 if quick else 2)
        del X
        if not quick:
            out["chunked"] = chunked_upload(served, folder)
    return out


def rows(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(measure, value, target) rows for `benchmarks/service.py`'s table."""
    mb = 1e6
    job = r["job"]
    out = [
        (f"upload {r['uint8_bytes'] / mb:.0f} MB uint8 .npz ({r['rows']:,} × 784)",
         f"{r['uint8_seconds']:.2f} s ({r['uint8_bytes'] / mb / r['uint8_seconds']:.0f} MB/s)",
         "≤ 3 s (47 MB)"),
        (f"upload {r['float32_bytes'] / mb:.0f} MB float32 .npz",
         f"{r['float32_seconds']:.2f} s "
         f"({r['float32_bytes'] / mb / r['float32_seconds']:.0f} MB/s)", "≤ 5 s (188 MB)"),
        ("2-epoch job on it: claim → first epoch begins", f"{job['to_training']:.2f} s",
         "≤ 1 s"),
        ("2-epoch job: started→finished ÷ direct train()",
         f"{job['ratio']:.3f}× ({job['span']:.2f} s / {job['direct']:.2f} s)", "≤ 1.1×"),
    ]
    chunked = r.get("chunked")
    if chunked:
        out += [
            (f"chunked upload {chunked['bytes'] / 1e9:.2f} GB",
             f"{chunked['seconds']:.1f} s ({chunked['bytes'] / mb / chunked['seconds']:.0f} "
             "MB/s)", ""),
            ("chunked upload: API memory growth anon / RSS",
             f"{chunked['anon_growth'] / mb:.0f} / {chunked['rss_growth'] / mb:.0f} MB",
             "≤ 200 MB"),
        ]
    else:
        out.append(("chunked 2 GB upload (full run only)", "-", "≤ 200 MB"))
    return out
