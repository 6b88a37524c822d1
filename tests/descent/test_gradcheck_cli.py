"""`Client.gradcheck` and `descent jobs gradcheck SPEC.json` against a real server: the per-layer
table and the same report as JSON; an oversized sample is refused (422)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from descent_server import ROOT, Server
from descent_testdata import blobs

from descent import Client, DescentAPIError

pytestmark = [pytest.mark.system]


def test_gradcheck_from_the_client_and_the_command_line(
    server: Server, client: Client, tmp_path: Path
) -> None:
    X, y = blobs(seed=5)
    dataset = client.upload_dataset(X, [["ant", "bee", "cat"][c] for c in y], name="gc-blobs")
    spec = {"dataset_id": dataset.id,
            "network": {"hidden_layers": [{"units": 6, "activation": "tanh"}]}}
    report = client.gradcheck(spec, rows=20, parameters=4)
    assert report["passed"] and report["rows"] == 20
    assert [layer["shape"] for layer in report["layers"]] == [[4, 6], [6, 3]]
    assert [layer["checked"] for layer in report["layers"]] == [8, 7]
    with pytest.raises(DescentAPIError) as refused:
        client.gradcheck(spec, rows=10_000)
    assert refused.value.status == 422

    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    base = [sys.executable, "-m", "service.cli", "jobs", "gradcheck", str(path), "--rows", "20",
            "--parameters", "4"]
    shown = subprocess.run(base, cwd=ROOT, env=server.env(), capture_output=True, text=True,
                           timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert "max rel. error" in shown.stdout and "4×6" in shown.stdout
    as_json = subprocess.run([*base, "--json"], cwd=ROOT, env=server.env(),
                             capture_output=True, text=True, timeout=120)
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == report
