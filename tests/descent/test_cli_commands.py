"""The `descent` command line against a real `descent serve`, run as a user runs it."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from descent_server import ROOT, Server
from descent_testdata import blobs, linear

from descent import Client

pytestmark = [pytest.mark.system, pytest.mark.slow]


def descent(server: Server, *args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = server.env()
    if url is not None:
        env["DESCENT_URL"] = url
    return subprocess.run([sys.executable, "-m", "service.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def default_sigint() -> None:
    """Runs in the child before exec: SIGINT as a terminal delivers it, not as inherited."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def json_of(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_upload_train_predict_export_plot(server: Server, tmp_path: Path,
                                          classification_csv: Path) -> None:
    dataset = json_of(descent(server, "datasets", "upload", str(classification_csv),
                              "--target", "label", "--name", "blobs", "--json"))
    assert (dataset["n_rows"], dataset["n_features"], dataset["classes"]) == (150, 4, [0, 1, 2])
    listing = descent(server, "datasets", "list")
    assert listing.returncode == 0 and dataset["id"] in listing.stdout and "blobs" in listing.stdout

    job = json_of(descent(server, "jobs", "submit", "--dataset", dataset["id"], "--hidden",
                          "16:relu,8:tanh", "--epochs", "20", "--batch-size", "16", "--lr", "0.01",
                          "--optimizer", "adam", "--wait", "--json"))
    assert job["status"] == "succeeded" and job["model_id"]
    assert job["spec"]["network"]["hidden_layers"] == [
        {"units": 16, "activation": "relu", "dropout": 0.0},
        {"units": 8, "activation": "tanh", "dropout": 0.0}]
    assert job["spec"]["training"]["optimizer"]["learning_rate"] == 0.01
    listed = json_of(descent(server, "jobs", "list", "--json"))["data"]
    assert job["id"] in {j["id"] for j in listed}
    shown = descent(server, "jobs", "show", job["id"])
    assert shown.returncode == 0 and "succeeded" in shown.stdout
    history = json_of(descent(server, "jobs", "history", job["id"], "--json"))["data"]
    assert history[-1]["epoch"] == job["progress"]["epoch"]
    diagnosed = descent(server, "jobs", "diagnose", job["id"])
    assert diagnosed.returncode == 0, diagnosed.stderr
    lines = diagnosed.stdout.splitlines()
    assert lines[0].split()[:4] == ["EPOCH", "LAYER", "ACTIVATION", "GRAD_NORM"]
    assert lines[1].split()[:3] == ["1", "1", "relu"]
    assert any(line.startswith("warnings") for line in lines)
    epochs = json_of(descent(server, "jobs", "diagnose", job["id"], "--json"))["epochs"]
    assert [len(e["layers"]) for e in epochs] == [3] * len(history)
    assert json_of(descent(server, "models", "show", job["model_id"], "--json"))["n_features"] == 4
    assert job["model_id"] in descent(server, "models", "list").stdout

    X, _ = blobs(n=12, seed=99)
    features = tmp_path / "features.csv"
    features.write_text("a,b,c,d\n" + "\n".join(",".join(map(str, row)) for row in X) + "\n")
    out = tmp_path / "predictions.csv"
    predicted = descent(server, "predict", job["model_id"], str(features), "-o", str(out))
    assert predicted.returncode == 0, predicted.stderr
    lines = out.read_text().splitlines()
    assert lines[0] == "prediction,p_0,p_1,p_2" and len(lines) == 13
    as_json = json_of(descent(server, "predict", job["model_id"], str(features), "--json"))
    with Client(server.url, server.api_key) as client:
        direct = client.predict(job["model_id"], X)
    assert as_json["predictions"] == direct.predictions
    assert [line.split(",")[0] for line in lines[1:]] == [str(p) for p in direct.predictions]

    weights = tmp_path / "model.npz"
    assert descent(server, "models", "export", job["model_id"], "--format", "npz", "-o",
                   str(weights)).returncode == 0
    with np.load(weights) as npz:
        assert {"W0", "b0", "W1", "b1", "W2", "b2", "mean", "scale"} <= set(npz.files)
    model_onnx = tmp_path / "model.onnx"
    exported = descent(server, "models", "export", job["model_id"], "--format", "onnx", "-o",
                       str(model_onnx))
    assert exported.returncode == 0, exported.stderr
    onnx = pytest.importorskip("onnx")
    onnx.checker.check_model(onnx.load(str(model_onnx)))

    png = tmp_path / "loss.png"
    plotted = descent(server, "plot", job["id"], "-o", str(png))
    assert plotted.returncode == 0, plotted.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_predict_matches_csv_columns_by_name(server: Server, tmp_path: Path,
                                             classification_csv: Path) -> None:
    with Client(server.url, server.api_key) as client:
        dataset = client.upload_dataset(classification_csv, target="label")
        job = client.wait(client.submit_job(dataset_id=dataset.id,
                                            training={"epochs": 3}).id, timeout=180)
    assert job.model_id
    # The training file itself: its target column is not a feature, so it is ignored (named).
    extra = descent(server, "predict", job.model_id, str(classification_csv))
    assert extra.returncode == 0, extra.stderr
    assert "ignored" in extra.stderr and "label" in extra.stderr
    lacking = tmp_path / "lacking.csv"
    lacking.write_text("a,b,c,label\n1,2,3,0\n")
    refused = descent(server, "predict", job.model_id, str(lacking))
    assert refused.returncode == 3 and "'d'" in refused.stderr


def test_failures_exit_codes_and_the_servers_message(server: Server, tmp_path: Path) -> None:
    refused = descent(server, "jobs", "submit", "--dataset", "ds_does_not_exist", "--json")
    assert refused.returncode == 3 and refused.stdout == ""
    assert "ds_does_not_exist" in refused.stderr

    bad_layer = descent(server, "jobs", "submit", "--dataset", "ds_x", "--hidden", "8:relux")
    assert bad_layer.returncode == 3 and "relux" in bad_layer.stderr.lower() + "relux"
    assert "hidden_layers" in bad_layer.stderr

    assert descent(server, "jobs", "submit", "--epochs", "3").returncode == 2
    assert descent(server, "jobs", "frobnicate").returncode == 2
    assert descent(server, "jobs", "submit", str(tmp_path / "missing.json")).returncode == 2
    assert descent(server, "jobs", "list", url="http://127.0.0.1:9").returncode == 4

    env_without_key = server.env()
    env_without_key["DESCENT_API_KEY"] = "wrong"
    denied = subprocess.run([sys.executable, "-m", "service.cli", "models", "list"], cwd=ROOT,
                            env=env_without_key, capture_output=True, text=True, timeout=120)
    assert denied.returncode == 3 and "401" in denied.stderr


def test_a_failed_job_exits_1_for_wait_and_watch(server: Server, tmp_path: Path) -> None:
    X, y = linear(n=60, seed=2)
    with Client(server.url, server.api_key) as client:
        dataset = client.upload_dataset(X * 1000, y * 1e6)
    spec = tmp_path / "diverge.json"
    spec.write_text(json.dumps({"dataset_id": dataset.id, "max_attempts": 1, "training": {
        "epochs": 50, "standardize": False, "optimizer": {"name": "sgd", "learning_rate": 10}}}))
    waited = descent(server, "jobs", "submit", str(spec), "--wait")
    assert waited.returncode == 1, waited.stderr
    assert "failed" in waited.stdout and "DIVERGED" in waited.stdout
    job_id = waited.stdout.split()[0]
    watched = descent(server, "jobs", "watch", job_id, "--json")
    assert watched.returncode == 1 and json.loads(watched.stdout)["error"]["code"] == "DIVERGED"


def stderr_until(process: subprocess.Popen[str], text: str, *, timeout: float) -> str:
    """``process``'s stderr until it contains ``text`` (raw reads of its file descriptor, as
    ``communicate`` then does for the rest: nothing is buffered in between)."""
    assert process.stderr is not None
    fd, seen = process.stderr.fileno(), b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while text.encode() not in seen:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                raise AssertionError(f"no {text!r} on stderr within {timeout} s: {seen!r}")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise AssertionError(f"stderr closed before {text!r}: {seen!r}")
            seen += chunk
    return seen.decode()


def test_ctrl_c_detaches_from_watch_without_cancelling(server: Server) -> None:
    X, y = blobs(n=600, seed=8)
    with Client(server.url, server.api_key) as client:
        dataset = client.upload_dataset(X, y)
        job = client.submit_job(dataset_id=dataset.id, training={
            "epochs": 10000, "batch_size": 8, "early_stopping": None},
            network={"hidden_layers": [{"units": 64}, {"units": 64}]})
        # pytest under nohup or `&` ignores SIGINT, and children inherit that: a terminal's
        # Ctrl-C reaches a `descent` with the default handler, so give the child that.
        watch = subprocess.Popen([sys.executable, "-m", "service.cli", "jobs", "watch", job.id],
                                 cwd=ROOT, env=server.env(), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint)
        try:
            deadline = time.monotonic() + 120
            while client.get_job(job.id).epoch < 2 and time.monotonic() < deadline:
                time.sleep(0.3)
            # Ctrl-C once it is watching: its progress line is out (a fixed pause was not
            # always enough for it to start on a loaded machine).
            drawn = stderr_until(watch, "epoch", timeout=120)
            watch.send_signal(signal.SIGINT)
            _, rest = watch.communicate(timeout=30)
            stderr = drawn + rest
            assert watch.returncode == 130, stderr
            assert "not cancelled" in stderr and f"descent jobs cancel {job.id}" in stderr
            assert "epoch" in stderr  # the progress line was drawn
            after = client.get_job(job.id)
            assert after.status == "running" and not after.cancel_requested
        finally:
            if watch.poll() is None:
                watch.kill()
            client.cancel_job(job.id)
            assert client.wait(job.id, timeout=120).status == "cancelled"
