"""`descent datasets upload --chunked`: the file goes in resumable parts with a progress line
(bytes and rate) on stderr, and the answer is the dataset, as a whole-file upload's."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from descent_server import ROOT, Server

from descent.cli.upload_progress import UploadProgress, size

pytestmark = [pytest.mark.system, pytest.mark.slow]


def test_chunked_upload_shows_bytes_and_rate(server: Server, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    path = tmp_path / "pixels.npz"
    np.savez(path, X=rng.integers(0, 256, (400, 64), dtype=np.uint8), y=rng.integers(0, 4, 400))
    env = {**server.env(), "DESCENT_UPLOAD_STATE": str(tmp_path / "state.json")}
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "datasets", "upload", str(path), "--chunked",
         "--name", "pixels", "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    dataset = json.loads(result.stdout)
    assert (dataset["n_rows"], dataset["n_features"], dataset["name"]) == (400, 64, "pixels")
    assert "uploading pixels.npz" in result.stderr and "/s" in result.stderr
    assert f"{size(path.stat().st_size)} / {size(path.stat().st_size)}" in result.stderr
    assert json.loads((tmp_path / "state.json").read_text()) == {}  # nothing left to resume


def test_progress_line_says_where_a_resume_starts() -> None:
    out = io.StringIO()
    progress = UploadProgress("big.npz", out)
    progress(16 << 20, 64 << 20)
    progress(64 << 20, 64 << 20)
    text = out.getvalue()
    assert "resuming big.npz at 16.0 MiB of 64.0 MiB" in text
    assert "64.0 MiB / 64.0 MiB" in text and "done in" in text
