"""``benchmarks/engine.py --quick`` runs end to end (when PyTorch and scikit-learn are there)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_engine_benchmark_quick(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    workloads = tmp_path / "workloads.json"
    workloads.write_text(
        '{"workloads": [{"name": "T", "rows": 300, "features": 8, "hidden": [16],'
        ' "classes": 3, "batch_size": 32, "epochs": 2}]}')
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "engine.py"), "--quick",
         "--workloads", str(workloads)],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("T        engine") for line in lines), result.stdout
    assert any(line.startswith("T        pytorch") for line in lines), result.stdout
    assert any(line.startswith("T        sklearn") for line in lines), result.stdout


def test_engine_benchmark_prints_the_cost_of_diagnostics(tmp_path: Path) -> None:
    pytest.importorskip("threadpoolctl")
    workloads = tmp_path / "workloads.json"
    workloads.write_text(
        '{"workloads": [{"name": "T", "rows": 300, "features": 8, "hidden": [16],'
        ' "classes": 3, "batch_size": 32, "epochs": 2}]}')
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "engine.py"), "--quick", "--workloads",
         str(workloads), "--frameworks", "engine", "engine+diag"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("T        engine+diag") for line in lines), result.stdout
    assert any(line.startswith("T        diagnostics cost") for line in lines), result.stdout


def test_engine_benchmark_prints_the_cost_of_each_training_control(tmp_path: Path) -> None:
    """Every control's row (off against the bare loop, each on against off), with its target."""
    pytest.importorskip("threadpoolctl")
    workloads = tmp_path / "workloads.json"
    workloads.write_text(
        '{"workloads": [{"name": "T", "rows": 300, "features": 8, "hidden": [16],'
        ' "classes": 3, "batch_size": 32, "epochs": 2}]}')
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "engine.py"), "--quick", "--workloads",
         str(workloads), "--frameworks", "engine", "--controls", "T"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    rows = {line.split()[1]: line for line in result.stdout.splitlines()
            if line.startswith("T        ")}
    assert "bare" in rows and rows["off"].endswith("bare     ≤ 5%"), result.stdout
    for control in ("dropout", "schedule", "clipping", "class_weight", "diagnostics"):
        assert rows[control].endswith("off     ≤ 15%"), result.stdout
