"""Issue 16, item 8: uploads within the limits neither freeze the event loop nor take memory out of
proportion to their size; a column count is capped; lists leave per-column details out."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import numpy as np
import orjson
import pytest
from harness import MB, Attack
from rows import count, database_url

from service import tables
from tests.system.served import serve

pytestmark = [pytest.mark.system, pytest.mark.slow]


def numbers_csv(rows: int, columns: int) -> bytes:
    rng = np.random.default_rng(0)
    buffer = io.StringIO()
    X = np.column_stack([rng.normal(size=(rows, columns)), rng.integers(0, 3, rows)])
    np.savetxt(buffer, X, delimiter=",", fmt=["%.6f"] * columns + ["%d"], comments="",
               header=",".join([f"f{j}" for j in range(columns)] + ["y"]))
    return buffer.getvalue().encode()


def test_a_large_csv_parses_off_the_loop_in_bounded_memory(tmp_path: Path) -> None:
    body = numbers_csv(150_000, 20)
    assert len(body) > 20 * MB
    with serve(tmp_path, workers=0) as served, Attack(served) as attack:
        response = httpx.post(f"{served.url}/v1/datasets", headers=served.headers, timeout=300,
                              files={"file": ("big.csv", body)}, data={"target": "y"})
    assert response.status_code == 201, response.text
    assert response.json()["n_rows"] == 150_000
    assert attack.healthz_p99 < 0.25, attack.summary()
    assert attack.rss_growth < 3 * len(body), attack.summary()


def test_json_beyond_its_cap_is_refused_before_parsing(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    body = orjson.dumps({"features": rng.normal(size=(100_000, 20)).tolist(),
                         "targets": rng.integers(0, 3, 100_000).tolist()})
    assert len(body) > 30 * MB
    with serve(tmp_path, workers=0) as served, Attack(served) as attack:
        response = httpx.post(f"{served.url}/v1/datasets", content=body, timeout=300,
                              headers={**served.headers, "Content-Type": "application/json"})
    assert response.status_code == 413, response.text
    assert "DESCENT_MAX_JSON_UPLOAD_BYTES" in response.json()["detail"]
    assert attack.healthz_p99 < 0.25, attack.summary()
    assert attack.rss_growth < 50 * MB, attack.summary()
    assert count(database_url(tmp_path), tables.Dataset) == 0


def test_too_many_columns_are_refused_and_lists_stay_small(tmp_path: Path) -> None:
    wide = ",".join(f"c{j}" for j in range(20_001)).encode() + b"\n"
    wide += (b"1," * 20_000 + b"0\n") * 2
    with serve(tmp_path, workers=0) as served:
        with Attack(served) as attack:
            response = httpx.post(f"{served.url}/v1/datasets", headers=served.headers,
                                  files={"file": ("wide.csv", wide)}, timeout=60)
        assert response.status_code == 422, response.text
        assert "DESCENT_MAX_DATASET_COLUMNS" in response.json()["detail"]
        assert attack.healthz_p99 < 0.25, attack.summary()
        assert count(database_url(tmp_path), tables.Dataset) == 0
        ok = httpx.post(f"{served.url}/v1/datasets", headers=served.headers,
                        files={"file": ("ok.csv", b"a,b,y\n1,2,0\n3,4,1\n")}, data={"target": "y"})
        assert ok.status_code == 201
        listed = httpx.get(f"{served.url}/v1/datasets", headers=served.headers).json()["data"]
        assert "feature_names" not in listed[0] and "columns" not in listed[0]
        one = httpx.get(f"{served.url}/v1/datasets/{ok.json()['id']}", headers=served.headers)
        assert [c["name"] for c in one.json()["columns"]] == ["a", "b"]
