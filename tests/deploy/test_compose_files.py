"""The deployment files are valid and say what the operations guide promises.

docker-compose.yml (PostgreSQL, scalable workers) and docker-compose.sqlite.yml are validated
against the Compose Specification's JSON schema; the Dockerfile is read instruction by instruction.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from typing import Any

import jsonschema
import pytest
from deploy_helpers import (
    COMPOSE_SCHEMA,
    REPO,
    Instruction,
    command_argv,
    dockerfile_env,
    healthcheck_argv,
    interpolate,
    only,
    service_environment,
    shell_steps,
)

COMPOSE_FILES = ["docker-compose.yml", "docker-compose.sqlite.yml"]


@pytest.fixture(scope="module")
def compose_schema() -> dict[str, Any]:
    if not COMPOSE_SCHEMA.exists():
        reason = f"the Compose schema is not at {COMPOSE_SCHEMA}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so this must not be skipped)")
        pytest.skip(reason)
    schema: dict[str, Any] = json.loads(COMPOSE_SCHEMA.read_text())
    return schema


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_compose_file_matches_the_compose_specification(
    name: str, compose_schema: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    document = request.getfixturevalue(
        "compose" if name == "docker-compose.yml" else "compose_sqlite"
    )
    validator = jsonschema.Draft7Validator(compose_schema)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def _named_volumes(document: dict[str, Any], service: dict[str, Any]) -> dict[str, str]:
    """{volume name: mount point} for the service's named (not bind) volumes."""
    mounts: dict[str, str] = {}
    for volume in service.get("volumes", []):
        source, _, target = str(volume).partition(":")
        if not source.startswith((".", "/", "~")):
            assert source in (document.get("volumes") or {}), f"{source} is not declared"
            mounts[source] = target.split(":")[0]
    return mounts


def test_api_publishes_its_port_and_waits_for_postgres(compose: dict[str, Any]) -> None:
    api = compose["services"]["api"]
    assert api["command"][0] == "serve" and "--workers" in api["command"]
    assert api["command"][api["command"].index("--workers") + 1] == "0"
    assert any(str(port).endswith(":8000") for port in api["ports"])
    assert api["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "/healthz" in " ".join(api["healthcheck"]["test"])
    env = service_environment(api, {"POSTGRES_PASSWORD": "pw", "DESCENT_BOOTSTRAP_KEY": "key"})
    assert env["DESCENT_DATABASE_URL"] == "postgresql://descent:pw@postgres:5432/descent"
    assert env["DESCENT_BOOTSTRAP_KEY"] == "key"


def test_secrets_come_only_from_the_environment(compose: dict[str, Any]) -> None:
    """Without POSTGRES_PASSWORD / DESCENT_BOOTSTRAP_KEY, compose refuses with a clear message."""
    api = compose["services"]["api"]
    with pytest.raises(KeyError, match="POSTGRES_PASSWORD"):
        service_environment(api, {"DESCENT_BOOTSTRAP_KEY": "key"})
    with pytest.raises(KeyError, match="DESCENT_BOOTSTRAP_KEY"):
        service_environment(api, {"POSTGRES_PASSWORD": "pw"})
    assert "DESCENT_BOOTSTRAP_KEY" not in compose["services"]["worker"]["environment"]
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    assert "**" in ignored and not any(line.startswith("!.env") for line in ignored)


def test_worker_is_scalable(compose: dict[str, Any]) -> None:
    worker = compose["services"]["worker"]
    assert "container_name" not in worker, "a fixed name prevents --scale worker=N"
    assert "ports" not in worker, "a fixed host port prevents --scale worker=N"
    assert worker["command"][:2] == ["worker", "--concurrency"]
    concurrency = worker["command"][2]
    assert interpolate(concurrency, {}) == "1"
    assert interpolate(concurrency, {"WORKER_CONCURRENCY": "4"}) == "4"
    assert worker["depends_on"]["postgres"]["condition"] == "service_healthy"
    # The API migrates as it starts: workers wait for it (they refuse a schema that is behind).
    assert worker["depends_on"]["api"]["condition"] == "service_healthy"
    assert worker["healthcheck"] == {"disable": True}
    assert worker["image"] == compose["services"]["api"]["image"], "one image for both roles"


def test_postgres_has_a_named_volume_and_a_healthcheck(compose: dict[str, Any]) -> None:
    postgres = compose["services"]["postgres"]
    assert postgres["image"] == "postgres:16"
    assert "/var/lib/postgresql/data" in _named_volumes(compose, postgres).values()
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])


def test_sqlite_variant_runs_one_container_on_a_named_volume(
    compose_sqlite: dict[str, Any],
) -> None:
    (service,) = compose_sqlite["services"].values()
    assert service["command"][:3] == ["serve", "--host", "0.0.0.0"]
    assert "--workers" not in service["command"], "embedded workers (DESCENT_WORKERS)"
    mounts = _named_volumes(compose_sqlite, service)
    assert "/data" in mounts.values()
    env = service_environment(service, {"DESCENT_BOOTSTRAP_KEY": "key"})
    assert env["DESCENT_DATABASE_URL"] == "sqlite:////data/descent.db"


def test_dockerfile_runs_as_descent_with_a_healthcheck(dockerfile: list[Instruction]) -> None:
    assert only(dockerfile, "FROM").args.startswith("python:3.11-slim")
    user = only(dockerfile, "USER").args.split(":")[0]
    assert user not in ("root", "0")
    assert "/healthz" in " ".join(healthcheck_argv(only(dockerfile, "HEALTHCHECK").args))
    assert command_argv(only(dockerfile, "ENTRYPOINT").args) == ["descent"]
    assert command_argv(only(dockerfile, "CMD").args) == [
        "serve", "--host", "0.0.0.0", "--workers", "0",
    ]  # fmt: skip
    assert "8000" in only(dockerfile, "EXPOSE").args.split()
    assert dockerfile_env(dockerfile)["PYTHONUNBUFFERED"] == "1"
    # The database stays on the /data volume: the default (the user's data directory) would put
    # it in the container's writable layer.
    assert dockerfile_env(dockerfile)["DESCENT_DATABASE_URL"] == "sqlite:////data/descent.db"


def test_dependencies_are_installed_before_the_sources_are_copied(
    dockerfile: list[Instruction],
) -> None:
    """Editing the code must not invalidate the dependency layer: only pyproject.toml feeds it."""
    keywords = [(i.keyword, i.args) for i in dockerfile]
    deps_at = next(n for n, (k, a) in enumerate(keywords) if k == "RUN" and "pip install -r" in a)
    copied_before = [a for k, a in keywords[:deps_at] if k == "COPY"]
    assert copied_before == ["pyproject.toml ./"]
    install = next(a for k, a in keywords[deps_at + 1 :] if k == "RUN" and "pip install" in a)
    assert "'.[postgres]'" in install


def test_the_dependency_layer_installs_what_pyproject_declares(
    dockerfile: list[Instruction], tmp_path: Any
) -> None:
    """Run the Dockerfile's requirements step here and compare with pyproject.toml."""
    run = next(i.args for i in dockerfile if i.keyword == "RUN" and "tomllib" in i.args)
    step = shell_steps(run)[0]
    assert step[:2] == ["python", "-c"] and step[3] == ">"
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    result = subprocess.run(
        [sys.executable, "-c", step[2]], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    expected = project["dependencies"] + project["optional-dependencies"]["postgres"]
    assert result.stdout.splitlines() == expected


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_docker_compose_accepts_the_file(name: str) -> None:
    """`docker compose config` (no engine needed), where the compose plugin is installed."""
    docker = shutil.which("docker")
    if (
        docker is None
        or subprocess.run([docker, "compose", "version"], capture_output=True).returncode
    ):
        pytest.skip("the docker compose plugin is not installed")
    env = {**os.environ, "POSTGRES_PASSWORD": "pw", "DESCENT_BOOTSTRAP_KEY": "key"}
    result = subprocess.run(
        [docker, "compose", "-f", name, "config", "--quiet"],
        cwd=REPO, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_the_build_context_holds_what_the_dockerfile_copies(
    dockerfile: list[Instruction],
) -> None:
    """.dockerignore lists what to send (after ``**``); each COPY source must be on that list."""
    lines = [line for line in (REPO / ".dockerignore").read_text().splitlines() if line.strip()]
    patterns = [line for line in lines if not line.startswith("#")]
    assert patterns[0] == "**", "exclude everything, then list what the build needs"
    included = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    for instruction in dockerfile:
        if instruction.keyword == "COPY":
            *sources, _destination = instruction.args.split()
            for source in sources:
                assert source.rstrip("/") in included, f"{source} is not in the build context"
                assert (REPO / source).exists(), f"COPY {source}: no such file in the repository"
