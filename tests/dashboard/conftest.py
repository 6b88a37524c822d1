"""The browser tests share the client tests' server helper (tests/descent) and Chromium."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "descent"))

from cdp import chromium_executable  # noqa: E402


@pytest.fixture
def chromium() -> str:
    """Chromium's path; the test is skipped without it, except in CI (CI=true), where it fails."""
    executable = chromium_executable()
    if executable is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but Chromium is missing: apt-get install -y chromium")
        pytest.skip("Chromium not installed (/usr/bin/chromium): apt-get install -y chromium")
    return executable
