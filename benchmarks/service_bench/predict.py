"""Predict throughput by format: JSON rows, ``.npy`` in and out, Arrow in and out, for 1,000 to
100,000 rows of 64 float32 features, against a running `descent serve` (see `processes`).

Bodies are encoded once beforehand, so a figure is the server's and the wire's: rows / mean
latency (request sent → whole answer read, not decoded) over one keep-alive connection.
"""

from __future__ import annotations

import io
import time
from typing import Any

import httpx
import numpy as np

NPY = "application/x-npy"
ARROW = "application/vnd.apache.arrow.stream"
ROW_COUNTS = (1_000, 10_000, 100_000)


def bodies(rows: int, features: int, seed: int = 5) -> dict[str, tuple[str, str, bytes]]:
    """``{format: (content type, accept, body)}`` of the same ``rows`` × ``features`` float32
    inputs (Arrow only when pyarrow is installed here). JSON rows are measured by
    `measures.predict_latency`."""
    X = np.random.default_rng(seed).standard_normal((rows, features)).astype(np.float32)
    out: dict[str, tuple[str, str, bytes]] = {}
    buffer = io.BytesIO()
    np.save(buffer, X, allow_pickle=False)
    out["npy"] = (NPY, NPY, buffer.getvalue())
    try:
        import pyarrow as pa
        import pyarrow.ipc
    except ImportError:
        return out
    table = pa.table({f"x{j}": X[:, j] for j in range(features)})
    sink = pa.BufferOutputStream()
    with pyarrow.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    out["arrow"] = (ARROW, ARROW, bytes(sink.getvalue()))
    return out


def predict_formats(
    client: httpx.Client, model_id: str, *, features: int, quick: bool
) -> dict[str, dict[int, float]]:
    """``{format: {rows: rows/s}}``."""
    path = f"/v1/models/{model_id}/predict"
    results: dict[str, dict[int, float]] = {}
    for rows in ROW_COUNTS:
        rounds = max(3, (30 if quick else 150) * 1_000 // rows)
        for name, (media, accept, body) in bodies(rows, features).items():
            headers = {"Content-Type": media, "Accept": accept}
            took = _timed(client, path, body, headers, rounds)
            results.setdefault(name, {})[rows] = rows / took
    return results


def _timed(client: httpx.Client, path: str, body: bytes, headers: dict[str, str],
           rounds: int) -> float:
    """Mean seconds per request, after a few warm-up requests."""
    samples = []
    for i in range(rounds + 3):
        started = time.perf_counter()
        answer = client.post(path, content=body, headers=headers)
        answer.read()
        took = time.perf_counter() - started
        if answer.status_code != 200:
            raise RuntimeError(f"POST {path}: {answer.status_code} {answer.text[:300]}")
        if i >= 3:
            samples.append(took)
    return float(np.mean(samples))


def rows(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The table's rows for one database's ``predict_formats`` results."""
    out = []
    for name, by_rows in r.items():
        for count, rate in by_rows.items():
            out.append((f"predict {name} in and out, {count:,} rows", f"{rate:,.0f} rows/s",
                        "≥ 1,000,000"))
    return out
