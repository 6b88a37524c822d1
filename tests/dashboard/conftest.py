"""The browser tests share the client tests' server helper (tests/descent), Chromium, a browser
with a profile of its own and a server (with a worker) per test; a test module may narrow them."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "descent"))

from axe import axe_source  # noqa: E402
from cdp import Browser, chromium_executable  # noqa: E402
from descent_server import ROOT, Server, running_server  # noqa: E402


@pytest.fixture
def chromium() -> str:
    """Chromium's path; the test is skipped without it, except in CI (CI=true), where it fails."""
    executable = chromium_executable()
    if executable is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but Chromium is missing: apt-get install -y chromium")
        pytest.skip("Chromium not installed (/usr/bin/chromium): apt-get install -y chromium")
    return executable


@pytest.fixture
def browser(chromium: str, tmp_path: Path) -> Iterator[Browser]:
    opened = Browser(chromium, tmp_path / "profile")
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with running_server(tmp_path / "server") as running:
        yield running


@pytest.fixture(scope="session")
def axe() -> str:
    """axe.min.js (tests/dashboard/axe.py), fetched once with npm into .venv/; skipped when it
    cannot be had, except in CI (CI=true), where that fails."""
    try:
        return axe_source(ROOT / ".venv")
    except RuntimeError as error:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but axe-core could not be had: {error}")
        pytest.skip(f"axe-core could not be had: {error}")
