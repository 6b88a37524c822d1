"""The model page shows its validation report: the confusion matrix as a heat map (one cell per
true × predicted class, its count and a shade) and the per-class table; stored evaluations fold
out below. Headless Chromium against a real `descent serve` (CI=true: Chromium required)."""

from __future__ import annotations

import pytest
from cdp import Browser
from descent_server import ROOT, Server
from descent_testdata import blobs

from descent import Client

pytestmark = [pytest.mark.system, pytest.mark.slow]

CELLS = "[...document.querySelectorAll('#validation-report rect.cm-cell')]"


def test_model_page_shows_the_confusion_heat_map_and_per_class_table(
    server: Server, browser: Browser
) -> None:
    with Client(server.url, server.api_key) as client:
        X, y = blobs(seed=11)
        dataset = client.upload_dataset(X, [["ant", "bee", "cat"][c] for c in y])
        job = client.wait(client.submit_job(dataset_id=dataset.id, training={
            "epochs": 10, "seed": 3}).id, timeout=120)
        assert job.status == "succeeded" and job.model_id
        model = client.get_model(job.model_id)
        evaluation = client.evaluate(model.id, dataset.id)
    report = model.evaluation
    assert report is not None

    browser.navigate(f"{server.url}/#/models/{model.id}?key={server.api_key}")
    counts = browser.wait_for(f"(() => {{ const c = {CELLS}; return c.length && "
                              "c.map(r => Number(r.dataset.count)); })()", timeout=60)
    assert counts == [v for row in report["confusion_matrix"] for v in row]
    shades = browser.evaluate(f"{CELLS}.map(r => r.getAttribute('fill'))")
    assert len(set(shades)) > 1  # the diagonal stands out from the rest
    rows = browser.evaluate("[...document.querySelectorAll('#validation-report "
                            "#per-class-table tbody tr')].map(r => [...r.cells].map("
                            "c => c.textContent))")
    assert [r[0] for r in rows] == ["ant", "bee", "cat", "macro avg", "weighted avg"]
    assert [int(r[4]) for r in rows[:3]] == [c["support"] for c in report["per_class"]]
    summary = browser.wait_for("document.querySelector('#evaluations summary')?.textContent")
    assert evaluation.id in summary
    browser.evaluate("document.querySelector('#validation-report').scrollIntoView(); true")
    browser.screenshot(ROOT / "test-artifacts" / "dashboard-evaluation.png")
