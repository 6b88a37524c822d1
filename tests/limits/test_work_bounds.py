"""Issue 16, item 2: work proportional to rows × width is bounded.

A predict of a few rows on a very wide model is computed in chunks (bounded memory), off the
event loop; rows × the widest layer beyond ``DESCENT_MAX_PREDICT_ACTIVATIONS`` is a 422 before any
work; networks deeper or wider than ``DESCENT_MAX_HIDDEN_LAYERS`` / ``DESCENT_MAX_LAYER_UNITS`` are
refused at submit.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from harness import MB, Attack
from rows import count, database_url, insert_model

from service import tables
from tests.system.served import serve

pytestmark = [pytest.mark.system, pytest.mark.slow]

WIDE = [{"units": 1_000_000, "activation": "relu"}]


def test_a_small_predict_on_a_wide_model_is_chunked_and_off_the_loop(tmp_path: Path) -> None:
    with serve(tmp_path, workers=0) as served:
        model = insert_model(database_url(tmp_path), n_features=2, hidden=WIDE, classes=[0, 1])
        url = f"{served.url}/v1/models/{model}/predict"
        warm = httpx.post(url, json={"inputs": [[0.5, -0.5]]}, headers=served.headers,
                          timeout=120)
        assert warm.status_code == 200, warm.text  # the model is cached now
        rows = [[0.5, -0.5], [1.0, 2.0], [-3.0, 0.25]] * 40  # 120 rows, a 1.6 KB body
        with Attack(served) as attack:
            response = httpx.post(url, json={"inputs": rows}, headers=served.headers,
                                  timeout=120)
        assert response.status_code == 200, response.text
        assert len(response.json()["predictions"]) == 120
        assert attack.healthz_p99 < 0.25, attack.summary()
        assert attack.rss_growth < 100 * MB, attack.summary()


def test_rows_times_width_over_the_limit_is_refused_before_any_work(tmp_path: Path) -> None:
    with serve(tmp_path, workers=0) as served:
        model = insert_model(database_url(tmp_path), n_features=2, hidden=WIDE, classes=[0, 1])
        url = f"{served.url}/v1/models/{model}/predict"
        warm = httpx.post(url, json={"inputs": [[0.5, -0.5]]}, headers=served.headers,
                          timeout=120)
        assert warm.status_code == 200, warm.text
        with Attack(served) as attack:
            response = httpx.post(url, json={"inputs": [[0.5, -0.5]] * 2000},
                                  headers=served.headers, timeout=120)
        assert response.status_code == 422, response.text
        assert "DESCENT_MAX_PREDICT_ACTIVATIONS" in response.json()["detail"]
        assert response.json()["errors"][0]["loc"] == ["body", "inputs"]
        assert attack.healthz_p99 < 0.25, attack.summary()
        assert attack.rss_growth < 50 * MB, attack.summary()
        assert count(database_url(tmp_path), tables.Prediction) == 0


def test_networks_too_deep_or_too_wide_are_refused_at_submit(tmp_path: Path) -> None:
    with serve(tmp_path, workers=0) as served:
        dataset = httpx.post(f"{served.url}/v1/datasets", headers=served.headers, json={
            "features": [[0, 1], [1, 0], [1, 1], [0, 0]], "targets": [1, 1, 0, 0]}).json()
        deep = [{"units": 2, "activation": "relu"}] * 101
        wide = [{"units": 100_000, "activation": "relu"}]
        for layers, setting in ((deep, "DESCENT_MAX_HIDDEN_LAYERS"),
                                (wide, "DESCENT_MAX_LAYER_UNITS")):
            body = {"dataset_id": dataset["id"], "network": {"hidden_layers": layers}}
            for path in ("/v1/jobs", "/v1/jobs/estimate"):
                response = httpx.post(f"{served.url}{path}", json=body, headers=served.headers)
                assert response.status_code == 422, response.text
                assert setting in response.json()["detail"]
        assert count(database_url(tmp_path), tables.Job) == 0
