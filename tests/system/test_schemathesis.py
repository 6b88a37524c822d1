"""Property-based fuzzing of the served OpenAPI schema: no 5xx, every answer as documented."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from served import serve

pytestmark = [pytest.mark.system, pytest.mark.slow]


@pytest.mark.skipif(
    importlib.util.find_spec("schemathesis") is None, reason="pip install -e '.[test]'"
)
def test_schemathesis_finds_no_server_errors_or_schema_violations(tmp_path: Path) -> None:
    with serve(tmp_path, workers=0) as served:
        # Some real ids for the operations that take one.
        dataset = httpx.post(
            f"{served.url}/v1/datasets", headers=served.headers,
            json={"features": [[0, 1], [1, 0], [1, 1]], "targets": [1, 1, 0]},
        )
        assert dataset.status_code == 201
        result = subprocess.run(
            [
                sys.executable, "-m", "schemathesis.cli", "run", f"{served.url}/openapi.json",
                "-H", f"Authorization: Bearer {served.key}",
                "--checks", "not_a_server_error,response_schema_conformance",
                "--max-examples", "10", "--seed", "1", "--request-timeout", "10",
                "--report-dir", str(tmp_path / "report"),
            ],
            capture_output=True, text=True, timeout=240,
        )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "generated" in output, output[-3000:]
