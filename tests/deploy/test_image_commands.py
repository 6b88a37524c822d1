"""The containers' commands, run on this host against a fresh PostgreSQL database.

The argv of each container is the image's ENTRYPOINT plus the compose service's command, its
environment the image's ENV plus the service's `environment`; only the address changes (loopback
and a free port instead of 0.0.0.0:8000) and the database URL points at this test's database.
"""

from __future__ import annotations

import os
import subprocess
import time
from typing import Any

import pytest
from deploy_helpers import (
    FINAL,
    Instruction,
    Processes,
    command_argv,
    descent_executable,
    dockerfile_env,
    healthcheck_argv,
    interpolate,
    on_host,
    only,
    service_environment,
    tiny_dataset,
)

from tests.processes import free_port

pytestmark = [pytest.mark.system, pytest.mark.slow, pytest.mark.postgres]

BOOTSTRAP_KEY = "dsk_test_image_commands_0123456789"


def container_env(
    dockerfile: list[Instruction], service: dict[str, Any], database_url: str, port: int
) -> dict[str, str]:
    """This host's environment, then the image's ENV, then the service's environment."""
    compose_env = {"POSTGRES_PASSWORD": "unused", "DESCENT_BOOTSTRAP_KEY": BOOTSTRAP_KEY}
    env = {**os.environ, **dockerfile_env(dockerfile)}
    env.update(service_environment(service, compose_env))
    # The compose URL names the `postgres` service; here it is this test's own database.
    assert env["DESCENT_DATABASE_URL"].startswith("postgresql://")
    env["DESCENT_DATABASE_URL"] = database_url
    env["DESCENT_PORT"] = str(port)
    return env


def test_image_commands_serve_and_train_on_postgres(
    postgres_url: str,
    processes: Processes,
    dockerfile: list[Instruction],
    compose: dict[str, Any],
) -> None:
    entrypoint = command_argv(only(dockerfile, "ENTRYPOINT").args)
    assert entrypoint == ["descent"]
    descent = descent_executable()
    api_service, worker_service = compose["services"]["api"], compose["services"]["worker"]
    port = free_port()
    api_env = container_env(dockerfile, api_service, postgres_url, port)
    worker_env = container_env(dockerfile, worker_service, postgres_url, port)
    assert "DESCENT_BOOTSTRAP_KEY" not in worker_service["environment"]

    # 1. descent migrate (what an upgrade runs first; serve would migrate too).
    migrate = subprocess.run(
        [*descent, "migrate"], env=api_env, capture_output=True, text=True, timeout=120
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr

    # 2. The API: the compose command, which is the image's CMD with the port spelled out.
    api_command = [interpolate(arg, api_env) for arg in api_service["command"]]
    default_command = command_argv(only(dockerfile, "CMD").args)
    assert [a for a in api_command if a not in ("--port", "8000")] == default_command
    api_process = processes.start("api", [*descent, *on_host(api_command, port=port)], api_env)
    api = processes.api(port, BOOTSTRAP_KEY)
    api.wait_ready(api_process, processes, "api")

    # The image's HEALTHCHECK, run verbatim (it reads DESCENT_PORT).
    check = healthcheck_argv(only(dockerfile, "HEALTHCHECK").args)
    health = subprocess.run(check, env=api_env, capture_output=True, text=True, timeout=30)
    assert health.returncode == 0, health.stderr

    # 3. A worker: the compose command with WORKER_CONCURRENCY unset (1).
    worker_command = [interpolate(arg, {}) for arg in worker_service["command"]]
    assert worker_command == ["worker", "--concurrency", "1"]
    worker_process = processes.start("worker", [*descent, *worker_command], worker_env)

    # 4. A job end to end over HTTP.
    features, targets = tiny_dataset()
    dataset = api.upload_dataset(features, targets)
    assert dataset["n_rows"] == len(features)
    job = api.submit_job({"dataset_id": dataset["id"], "training": {"epochs": 2, "batch_size": 8}})
    deadline = time.monotonic() + 120
    while job["status"] not in FINAL and time.monotonic() < deadline:
        assert worker_process.poll() is None, f"the worker exited:\n{processes.logs()}"
        time.sleep(0.3)
        job = api.job(job["id"])
    assert job["status"] == "succeeded", f"{job}\n{processes.logs()}"
    assert job["attempts"] == 1 and job["model_id"]
    assert [row["epoch"] for row in api.history(job["id"])] == [1, 2]
    model = api.http.get(f"/v1/models/{job['model_id']}")
    assert model.status_code == 200 and model.json()["job_id"] == job["id"]

    # The API refuses requests without the key (the bootstrap key is what let us in).
    stranger = processes.api(port, "not-a-key")
    assert stranger.http.get("/v1/jobs").status_code == 401
