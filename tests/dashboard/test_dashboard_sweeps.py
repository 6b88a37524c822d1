"""The sweeps pages: the list links each sweep; a sweep's page plots each parameter against the
metric (a point per trial with a value), overlays every trial's metric curve and lists the
trials. Headless Chromium against a real `descent serve` (CI=true: Chromium required)."""

from __future__ import annotations

import pytest
from cdp import Browser
from descent_server import ROOT, Server
from descent_testdata import blobs

from descent import Client

pytestmark = [pytest.mark.system, pytest.mark.slow]


def test_sweep_page_plots_params_against_the_metric_and_every_curve(
    server: Server, browser: Browser
) -> None:
    with Client(server.url, server.api_key) as client:
        X, y = blobs(seed=5)
        dataset = client.upload_dataset(X, y)
        sweep = client.create_sweep(
            dataset_id=dataset.id, max_trials=4, parallelism=2, seed=1,
            base={"network": {"hidden_layers": [{"units": 8}]},
                  "training": {"epochs": 5, "validation_split": 0.2, "early_stopping": None}},
            space={"training.optimizer.learning_rate": {"log_uniform": [1e-3, 1e-1]},
                   "network.hidden_layers.0.units": {"choice": [4, 8]}})
        done = client.wait(sweep.id, timeout=180, poll_interval=0.2)
        assert done.status == "succeeded" and done.counts["succeeded"] == 4

    browser.navigate(f"{server.url}/#/sweeps?key={server.api_key}")
    assert browser.wait_for(f"document.querySelector('[data-sweep-id=\"{sweep.id}\"] a')"
                            "?.textContent", timeout=60) == sweep.id
    browser.navigate(f"{server.url}/#/sweeps/{sweep.id}")
    lines = browser.wait_for("Number(document.querySelector('#sweep-curves')?.dataset.lines)"
                             " === 4 && 4", timeout=60)
    assert lines == 4
    points = browser.evaluate("[...document.querySelectorAll('svg.sweep-scatter')].map("
                              "s => [s.dataset.param, s.querySelectorAll('circle').length])")
    assert sorted(points) == [["network.hidden_layers.0.units", 4],
                              ["training.optimizer.learning_rate", 4]]
    rows = browser.evaluate("document.querySelectorAll('#trials-table tbody tr').length")
    assert rows == 4
    best = browser.evaluate("document.querySelector('#sweep-best')?.textContent")
    assert done.model_id and done.model_id in best
    browser.screenshot(ROOT / "test-artifacts" / "dashboard-sweep.png")
