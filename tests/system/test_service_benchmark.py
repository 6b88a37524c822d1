"""Smoke test of the service benchmark: `benchmarks/service.py --quick` runs against real
`descent serve` / `descent worker` processes and prints its table (numbers are not asserted:
this machine's load decides them)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.system
@pytest.mark.slow
def test_quick_service_benchmark_prints_its_table() -> None:
    command = [
        sys.executable, "benchmarks/service.py", "--quick", "--no-postgres",
        "--load-seconds", "3", "--load-clients", "8", "--overhead-seconds", "1",
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    table = result.stdout
    for row in (
        "predict 1 row p50 ÷ /healthz p50", "predict 1,000 rows throughput", "pickup p50",
        "tiny jobs, 4 worker process(es)", "overhead: started→finished ÷ direct",
        "load: requests/s", "load: errors", "2-epoch job: started→finished ÷ direct train()",
    ):
        assert row in table, table
    assert "| measure" in table.splitlines()[1], table


def test_a_load_run_that_completes_no_request_reports_zero() -> None:
    """A run over before its clients start (a busy machine) used to fail with IndexError."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.service_bench.load import Targets, run_load

    targets = Targets(url="http://127.0.0.1:9", key="unused", job_ids=["job_x"],
                      model_id="mdl_x", predict_body=b"{}")
    load = run_load(targets, clients=2, seconds=0.0)
    assert (load["requests"], load["errors"], load["rps"], load["p99_by_op"]) == (0, 0, 0.0, {})
    assert math.isnan(load["p50"]) and math.isnan(load["p99"])
