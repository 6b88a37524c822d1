"""Fixtures of the deploy tests: the parsed deployment files and per-test processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from deploy_helpers import REPO, Instruction, Processes, load_compose, parse_dockerfile


@pytest.fixture(scope="session")
def dockerfile() -> list[Instruction]:
    return parse_dockerfile((REPO / "Dockerfile").read_text())


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    return load_compose("docker-compose.yml")


@pytest.fixture(scope="session")
def compose_sqlite() -> dict[str, Any]:
    return load_compose("docker-compose.sqlite.yml")


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    """Start processes with ``processes.start``; all are stopped (then killed) after the test."""
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    group = Processes(log_dir)
    try:
        yield group
    finally:
        group.stop_all()
