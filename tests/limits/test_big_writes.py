"""Issue 16, item 5: large results are written in short transactions, so other writers — another
tenant's heartbeats, an upload — never wait long on SQLite's lock; one predict request's rows are
capped (batch predictions take more)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from harness import Attack, percentile
from rows import count, database_url, insert_model
from sqlalchemy import text

from service import tables
from service.db import connect
from tests.system.served import serve

pytestmark = [pytest.mark.system, pytest.mark.slow]
ROWS = 200_000


class WriteProbe:
    """Small write transactions, one every 20 ms, as a heartbeat makes them; their latencies."""

    def __init__(self, url: str) -> None:
        self.db = connect(url)
        self.latencies: list[float] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            started = time.perf_counter()
            self.db.run_write(lambda s: s.execute(text("UPDATE tenants SET name = name")))
            self.latencies.append(time.perf_counter() - started)
            self.stop.wait(0.02)

    def __enter__(self) -> WriteProbe:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self.db.dispose()


def test_a_large_batch_prediction_never_holds_the_write_lock_long(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    csv = "a,b\n" + "\n".join(f"{a:.4f},{b:.4f}" for a, b in rng.normal(size=(ROWS, 2)))
    with serve(tmp_path, workers=1) as served:
        url = database_url(tmp_path)
        model = insert_model(url, n_features=2, hidden=[{"units": 8, "activation": "tanh"}],
                             classes=["no", "yes"])
        dataset = httpx.post(f"{served.url}/v1/datasets", headers=served.headers, timeout=120,
                             files={"file": ("rows.csv", csv.encode())}).json()
        with WriteProbe(url) as probe:
            job = httpx.post(f"{served.url}/v1/models/{model}/batch-predictions",
                             json={"dataset_id": dataset["id"]}, headers=served.headers).json()
            deadline = time.monotonic() + 300
            while job["status"] not in ("succeeded", "failed") and time.monotonic() < deadline:
                time.sleep(0.2)
                job = httpx.get(f"{served.url}/v1/jobs/{job['id']}", headers=served.headers).json()
        assert job["status"] == "succeeded", job
        page = httpx.get(f"{served.url}/v1/predictions/{job['prediction_id']}?offset=199990",
                         headers=served.headers).json()
        assert page["n_rows"] == ROWS and len(page["predictions"]) == 10
    assert max(probe.latencies) < 2.0, f"a write waited {max(probe.latencies):.1f} s"
    assert percentile(probe.latencies, 0.99) < 1.0


def test_one_predict_request_is_capped_in_rows(tmp_path: Path) -> None:
    with serve(tmp_path, workers=0, DESCENT_MAX_PREDICT_ROWS="1000") as served:
        model = insert_model(database_url(tmp_path), n_features=2,
                             hidden=[{"units": 8, "activation": "tanh"}], classes=[0, 1])
        with Attack(served) as attack:
            response = httpx.post(f"{served.url}/v1/models/{model}/predict",
                                  json={"inputs": [[0.1, 0.2]] * 1001, "store": True},
                                  headers=served.headers, timeout=60)
        assert response.status_code == 422, response.text
        assert "DESCENT_MAX_PREDICT_ROWS" in response.json()["detail"]
        assert "batch predictions" in response.json()["detail"]
        assert attack.healthz_p99 < 0.25, attack.summary()
        assert count(database_url(tmp_path), tables.Prediction) == 0
