"""Reading the deployment files as Docker and Compose would, and running their commands here.

There is no Docker engine in CI, so the deploy tests take the commands out of the Dockerfile and
docker-compose.yml and run them on the host against a real PostgreSQL: the processes, arguments
and environment are the containers' own, only the network addresses change.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_SCHEMA = Path(__file__).resolve().parent / "data" / "compose-spec.json"
FINAL = ("succeeded", "failed", "cancelled")


# --- Dockerfile ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, COPY, …
    args: str  # the rest of the logical line, continuations joined


def parse_dockerfile(text: str) -> list[Instruction]:
    """Logical instructions: comments dropped, backslash continuations joined."""
    instructions: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # Docker drops comment lines, also inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        logical = pending + line
        pending = ""
        keyword, _, args = logical.partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def command_argv(args: str) -> list[str]:
    """An instruction's command: exec form (a JSON array) as is; shell form through /bin/sh -c."""
    if args.startswith("["):
        argv = json.loads(args)
        assert isinstance(argv, list) and all(isinstance(a, str) for a in argv)
        return argv
    return ["/bin/sh", "-c", args]


def healthcheck_argv(args: str) -> list[str]:
    """The command of ``HEALTHCHECK [--option=value …] CMD command``."""
    options, sep, command = args.partition("CMD ")
    assert sep and all(opt.startswith("--") for opt in options.split()), args
    return command_argv(command.strip())


def only(instructions: list[Instruction], keyword: str) -> Instruction:
    """The last ``keyword`` instruction (the one Docker uses), which must exist."""
    found = [i for i in instructions if i.keyword == keyword]
    assert found, f"the Dockerfile has no {keyword}"
    return found[-1]


def dockerfile_env(instructions: list[Instruction]) -> dict[str, str]:
    """The ENV of the image (``ENV K=V K2=V2`` form)."""
    env: dict[str, str] = {}
    for instruction in instructions:
        if instruction.keyword == "ENV":
            for pair in shlex.split(instruction.args):
                key, sep, value = pair.partition("=")
                assert sep, f"use the ENV KEY=VALUE form: {instruction.args}"
                env[key] = value
    return env


def shell_steps(run_args: str) -> list[list[str]]:
    """A shell-form RUN split at ``&&`` into the words of each step."""
    steps: list[list[str]] = [[]]
    for word in shlex.split(run_args):
        if word == "&&":
            steps.append([])
        else:
            steps[-1].append(word)
    return steps


# --- Compose -------------------------------------------------------------------------------------


def load_compose(name: str) -> dict[str, Any]:
    document = yaml.safe_load((REPO / name).read_text())
    assert isinstance(document, dict)
    return document


_VARIABLE = re.compile(
    r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
)


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Compose's interpolation: ``$$``, ``${V}``, ``${V:-default}``, ``${V-d}``, ``${V:?error}``."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg")
        current = env.get(name)
        missing = current is None or (current == "" and op is not None and op.startswith(":"))
        if op and op.endswith("-") and missing:
            return arg
        if op and op.endswith("?") and missing:
            raise KeyError(f"required variable {name} is missing a value: {arg}")
        return current or ""

    return _VARIABLE.sub(replace, value)


def service_environment(service: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, str]:
    """A service's container environment; a key without a value passes ``env``'s value through."""
    declared = service.get("environment") or {}
    if isinstance(declared, list):
        declared = dict(item.split("=", 1) if "=" in item else (item, None) for item in declared)
    resolved: dict[str, str] = {}
    for key, value in declared.items():
        if value is None:
            if key in env:
                resolved[key] = env[key]
        else:
            resolved[key] = interpolate(str(value), env)
    return resolved


# --- Running the commands on this host ----------------------------------------------------------


def descent_executable() -> list[str]:
    """The image's ENTRYPOINT ``descent``, installed next to this Python (or run as a module)."""
    script = Path(sys.executable).parent / "descent"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "service.cli"]


def on_host(argv: list[str], *, port: int) -> list[str]:
    """A container command with loopback instead of 0.0.0.0 and a free port instead of 8000."""
    out = list(argv)
    for flag, value in (("--host", "127.0.0.1"), ("--port", str(port))):
        if flag in out:
            out[out.index(flag) + 1] = value
        elif out and out[0] == "serve":
            out += [flag, value]
    return out


@dataclass
class Processes:
    """Processes started for one test, each in its own session (so its children go with it)."""

    log_dir: Path
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    apis: list[Api] = field(default_factory=list)

    def api(self, port: int, key: str) -> Api:
        """A client of the API listening on ``port``, closed with the processes."""
        api = Api(f"http://127.0.0.1:{port}", key)
        self.apis.append(api)
        return api

    def start(self, name: str, argv: list[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        # The child keeps its own copy of the file descriptor.
        with open(self.log_dir / f"{name}.log", "wb") as log:
            process = subprocess.Popen(
                argv, env=dict(env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.running[name] = process
        return process

    def log(self, name: str, tail: int = 4000) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""

    def logs(self) -> str:
        return "\n".join(f"--- {name} ---\n{self.log(name)}" for name in self.running)

    def kill9(self, name: str) -> None:
        """SIGKILL the process and everything it started, as when a machine dies."""
        process = self.running[name]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self, timeout: float = 20.0) -> None:
        for api in self.apis:
            api.close()
        for process in self.running.values():
            if process.poll() is None:
                _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.running.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _signal_group(process, signal.SIGKILL)  # stragglers, and orphaned children
            process.wait(timeout=10)


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


# --- The HTTP API ------------------------------------------------------------------------------


@dataclass
class Api:
    """One API process, reached over HTTP with a key (one connection pool; `close` it)."""

    base_url: str
    key: str
    _http: httpx.Client | None = None

    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            headers = {"Authorization": f"Bearer {self.key}"}
            self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=30)
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def wait_ready(self, process: subprocess.Popen[bytes], processes: Processes, name: str) -> None:
        """Until /healthz and /readyz answer 200 (fails at once if the process exits)."""
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(
                    f"{name} exited with {process.returncode}:\n{processes.log(name)}"
                )
            try:
                health = self.http.get("/healthz", timeout=2)
                ready = self.http.get("/readyz", timeout=2)
                if health.status_code == 200 and ready.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{name} not ready after 90 s:\n{processes.log(name)}")

    def _json(self, method: str, path: str, expected: tuple[int, ...], **kwargs: Any) -> Any:
        answer = self.http.request(method, path, **kwargs)
        assert answer.status_code in expected, (
            f"{method} {path}: {answer.status_code} {answer.text}"
        )
        return answer.json()

    def upload_dataset(self, features: list[list[float]], targets: list[Any]) -> dict[str, Any]:
        body = {"name": "tiny", "features": features, "targets": targets}
        dataset: dict[str, Any] = self._json("POST", "/v1/datasets", (200, 201), json=body)
        return dataset

    def submit_job(self, spec: dict[str, Any]) -> dict[str, Any]:
        job: dict[str, Any] = self._json("POST", "/v1/jobs", (202,), json=spec)
        return job

    def job(self, job_id: str) -> dict[str, Any]:
        job: dict[str, Any] = self._json("GET", f"/v1/jobs/{job_id}", (200,))
        return job

    def history(self, job_id: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self._json("GET", f"/v1/jobs/{job_id}/history", (200,))["data"]
        return rows

    def list_jobs(self) -> list[dict[str, Any]]:
        """Every job of the tenant, following the list's cursor."""
        jobs: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": 500}
        while True:
            page = self._json("GET", "/v1/jobs", (200,), params=params)
            jobs += page["data"]
            if not page.get("next"):
                return jobs
            params["cursor"] = page["next"]


def tiny_dataset(rows: int = 24) -> tuple[list[list[float]], list[int]]:
    """Two features, two classes split by a line: learnable in an epoch or two."""
    features = [[(i % 6) / 5.0, (i // 6) / 3.0] for i in range(rows)]
    targets = [int(x + y > 1.0) for x, y in features]
    return features, targets
