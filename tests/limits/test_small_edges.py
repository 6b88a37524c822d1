"""Issue 16, item 10 (the HTTP-edge parts): duplicate JSON keys, short bootstrap keys beyond
loopback, and formulas in ``descent predict -o file.csv``."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from descent.cli.models import predictions_csv
from descent.types import Model
from service.commands.serve import uvicorn_config
from service.connections import TimedH11Protocol
from service.deploy_checks import UnsafeBindError, check_bind
from service.settings import Settings
from tests.limits.edge_helpers import XOR, problem, row_counts
from tests.processes import free_port
from tests.system.served import ROOT, serve


@pytest.mark.system
def test_duplicate_keys_in_a_job_spec_are_a_400_naming_the_key(tmp_path: Path) -> None:
    with serve(tmp_path, workers=0) as served, httpx.Client(
        base_url=served.url, headers={**served.headers, "Content-Type": "application/json"}
    ) as client:
        dataset_id = client.post("/v1/datasets", json=XOR).json()["id"]
        before = row_counts(tmp_path)
        twice = f'{{"dataset_id": "{dataset_id}", "dataset_id": "{dataset_id}"}}'
        nested = '{"dataset_id": "' + dataset_id + '", "training": {"epochs": 1, "epochs": 5}}'
        for path in ("/v1/jobs", "/v1/jobs/estimate"):
            for body, key in ((twice, "dataset_id"), (nested, "epochs")):
                response = client.post(path, content=body)
                assert response.status_code == 400, response.text
                assert f"'{key}'" in problem(response)["detail"], response.text
        # Other mistakes keep their answers and locations.
        bad = client.post("/v1/jobs", content='{"dataset_id": 5}')
        assert bad.status_code == 422 and problem(bad)["errors"][0]["loc"] == [
            "body", "dataset_id"]
        for garbage in (b'{"dataset_id": ', b"\xfd$\x10\xff", b"[" * 100_000):
            broken = client.post("/v1/jobs/estimate", content=garbage)
            assert broken.status_code == 400, broken.text
        assert row_counts(tmp_path) == before
        ok = client.post("/v1/jobs", content=f'{{"dataset_id": "{dataset_id}"}}')
        assert ok.status_code == 202, ok.text


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5"])
def test_a_short_bootstrap_key_is_refused_beyond_loopback(host: str) -> None:
    with pytest.raises(UnsafeBindError) as info:
        check_bind(host, has_key=True, bootstrap_key="dk_" + "x" * 28)
    message = str(info.value)
    assert "DESCENT_BOOTSTRAP_KEY" in message and "32" in message
    assert "secrets.token_urlsafe(32)" in message  # how to make a good one
    check_bind(host, has_key=True, bootstrap_key="dk_" + "x" * 29)
    check_bind("127.0.0.1", has_key=True, bootstrap_key="short")


@pytest.mark.system
def test_descent_serve_refuses_a_short_bootstrap_key_on_0_0_0_0(tmp_path: Path) -> None:
    env = {**os.environ, "DESCENT_DATABASE_URL": f"sqlite:///{tmp_path / 'descent.db'}",
           "DESCENT_BOOTSTRAP_KEY": "dk_short"}
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "serve", "--host", "0.0.0.0", "--port",
         str(free_port()), "--workers", "0"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "DESCENT_BOOTSTRAP_KEY" in result.stderr and "32" in result.stderr


def test_predictions_csv_neutralizes_formulas_but_keeps_numbers() -> None:
    model = Model.from_dict({"id": "mdl_x", "classes": ["=1+2", "@SUM(A1)", "ok"]})
    text = predictions_csv(
        model, ["=HYPERLINK(\"http://x\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx",
                "-5", "-1.5e-3", "ok", -7, -0.25],
        [[0.1, 0.2, 0.7]] * 10,
    )
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["prediction", "p_=1+2", "p_@SUM(A1)", "p_ok"]
    assert [row[0] for row in rows[1:]] == [
        "'=HYPERLINK(\"http://x\")", "'+cmd|' /C calc'!A0", "'-2+3", "'@SUM(A1)", "'\tx",
        "-5", "-1.5e-3", "ok", "-7", "-0.25",
    ]
    assert {row[1] for row in rows[1:]} == {"0.1"}


def test_descent_serve_configures_uvicorn_from_the_settings() -> None:
    settings = Settings(max_connections=77, keep_alive_seconds=9, header_timeout_seconds=2.5,
                        body_timeout_seconds=4.0)
    config = uvicorn_config(settings)
    assert config.limit_concurrency == 77 and config.timeout_keep_alive == 9
    assert config.h11_max_incomplete_event_size == 16 * 1024
    assert isinstance(config.http, type) and issubclass(config.http, TimedH11Protocol)
    assert (config.http.header_seconds, config.http.body_seconds) == (2.5, 4.0)
