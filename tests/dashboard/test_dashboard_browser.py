"""The dashboard in headless Chromium against a real `descent serve`.

Chromium is driven over the DevTools protocol (tests/dashboard/cdp.py). Skipped when Chromium is
missing — except in CI (``CI=true``), where a missing browser fails the test. A screenshot of the
job page lands in ``test-artifacts/`` (the README's come from test_dashboard_front_door.py).
"""

from __future__ import annotations

import json
import time

import pytest
from cdp import Browser
from descent_server import ROOT, Server
from descent_testdata import blobs, churn_records

from descent import Client, Job

pytestmark = [pytest.mark.system, pytest.mark.slow]

ARTIFACTS = ROOT / "test-artifacts"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
POINTS = "Number(document.querySelector('#loss-chart')?.dataset.points || 0)"


def start_long_job(client: Client, dataset_id: str) -> Job:
    """A job that trains for minutes (cancelled by the test), once its first epoch is in."""
    job = client.submit_job(dataset_id=dataset_id, training={
        "epochs": 10000, "batch_size": 8, "early_stopping": None},
        network={"hidden_layers": [{"units": 64}, {"units": 64}]})
    deadline = time.monotonic() + 120
    while client.get_job(job.id).epoch < 1:
        assert time.monotonic() < deadline, "the long job never started"
        time.sleep(0.2)
    return client.get_job(job.id)


def test_jobs_table_live_chart_and_predict_form(server: Server, browser: Browser) -> None:
    with Client(server.url, server.api_key) as client:
        X, y = blobs(n=600, seed=31)
        dataset = client.upload_dataset(X, y, name="blobs")
        # A table with a text column and blanks: its model's predict form asks by column name.
        customers = client.upload_dataset(churn_records(), target="churned", name="customers")
        finished = client.wait(client.submit_job(dataset_id=customers.id, training={
            "epochs": 12}).id, timeout=180)
        assert finished.status == "succeeded" and finished.model_id
        unnamed = client.wait(client.submit_job(dataset_id=dataset.id, training={
            "epochs": 3}).id, timeout=180)  # arrays: columns x0…x3, predicted by position
        assert unnamed.model_id
        running = start_long_job(client, dataset.id)
        try:
            check_dashboard(server, browser, client, finished, running)
            check_predict_by_position(browser, client, unnamed.model_id)
        finally:
            client.cancel_job(running.id)


def check_dashboard(server: Server, browser: Browser, client: Client, finished: Job,
                    running: Job) -> None:
    # The key arrives once in the fragment, is stored, and leaves the address bar.
    browser.navigate(f"{server.url}/#/?key={server.api_key}")
    rows = browser.wait_for(
        "(() => { const rows = [...document.querySelectorAll('#jobs-table tr[data-job-id]')];"
        " return rows.length >= 2 && Object.fromEntries(rows.map("
        "r => [r.dataset.jobId, r.dataset.status])); })()")
    assert rows[finished.id] == "succeeded" and rows[running.id] == "running"
    assert browser.evaluate("localStorage.getItem('descent.apiKey')") == server.api_key
    assert server.api_key not in browser.evaluate("location.href")
    assert browser.evaluate("document.querySelector('#jobs-table progress') !== null")

    # The job page: the chart grows while the job trains, without reloading the page.
    browser.evaluate(f"location.hash = '#/jobs/{running.id}'")
    first = browser.wait_for(POINTS)
    grown = browser.wait_for(f"{POINTS} >= {first + 3} && {POINTS}", timeout=60)
    assert grown > first
    assert browser.evaluate("document.querySelectorAll('#loss-chart polyline').length") == 2
    drawn = browser.evaluate("document.querySelector('#loss-chart polyline[data-series=loss]')"
                             ".getAttribute('points').split(' ').length")
    assert drawn == browser.evaluate(POINTS)
    # The layers panel: a gradient-norm line per layer (64 relu, 32 tanh, the output), the
    # latest epoch's table and the warnings line.
    assert browser.wait_for("document.querySelectorAll('#gradient-chart polyline').length") == 3
    assert browser.evaluate("document.querySelectorAll('#layers-table tbody tr').length") == 3
    assert browser.evaluate("[...document.querySelectorAll('#layers-table tbody td')]"
                            ".map(td => td.textContent).slice(0, 2)") == ["1", "relu"]
    assert browser.evaluate("document.querySelector('#layer-warnings') !== null")
    spec = json.loads(browser.evaluate("document.querySelector('#job-spec').textContent"))
    assert spec["training"]["epochs"] == 10000
    time.sleep(0.5)
    png = browser.screenshot(ARTIFACTS / "dashboard-job.png")
    assert png[:8] == PNG_MAGIC

    check_dataset_and_predict_by_name(browser, client, finished)


def check_dataset_and_predict_by_name(browser: Browser, client: Client, finished: Job) -> None:
    # The dataset page lists each column's kind, missing cells and categories, as the API does.
    assert finished.dataset_id and finished.model_id
    dataset = client.get_dataset(finished.dataset_id)
    browser.evaluate("location.hash = '#/datasets'")
    listed = f"a[href=\"#/datasets/{dataset.id}\"]"
    browser.wait_for(f"document.querySelector('#datasets-table {listed}') !== null")
    browser.evaluate(f"location.hash = '#/datasets/{dataset.id}'")
    shown = browser.wait_for(
        "(() => { const rows = [...document.querySelectorAll('#columns-table tr[data-column]')];"
        " return rows.length && rows.map(r => [r.dataset.column, r.dataset.kind,"
        " Number(r.dataset.missing), r.cells[3].textContent]); })()")
    assert shown == [[c["name"], c["kind"], c["missing"],
                      "–" if c["categories"] is None else str(c["categories"])]
                     for c in dataset.columns or []]
    city = next(row for row in shown if row[0] == "city")
    assert city[1] == "categorical" and city[2] > 0 and city[3] == "3"  # blanks and 3 cities
    browser.screenshot(ARTIFACTS / "dashboard-dataset.png")

    # The model page's predict form asks for values by column name; a blank is missing.
    browser.evaluate(f"location.hash = '#/models/{finished.model_id}'")
    names = browser.wait_for("(() => { const inputs = [...document.querySelectorAll("
                             "'#predict-fields input[data-column]')];"
                             " return inputs.length && inputs.map(i => i.dataset.column); })()")
    assert names == ["age", "city", "plan", "income"]
    assert browser.evaluate("document.querySelector('#predict-input')") is None  # no row box
    record = {"plan": "free", "age": "61", "city": "", "income": "48000"}
    for name, value in record.items():
        browser.evaluate(f"document.querySelector('#predict-fields input[data-column={name}]')"
                         f".value = {json.dumps(value)}; true")
    browser.evaluate("document.querySelector('#predict-form').requestSubmit(); true")
    shown_label = browser.wait_for(
        "document.querySelector('#predict-table td.prediction')?.textContent")
    expected = client.predict(finished.model_id, [{"income": 48000, "city": None, "age": 61,
                                                   "plan": "free"}])
    assert shown_label == str(expected.predictions[0])
    browser.screenshot(ARTIFACTS / "dashboard-model.png")

    # A value that is not a number in a numeric column: the server's answer names the column.
    browser.evaluate("document.querySelector('#predict-fields input[data-column=age]')"
                     ".value = 'old'; document.querySelector('#predict-form').requestSubmit();"
                     " true")
    problem = browser.wait_for("document.querySelector('#predict-output .problem')?.textContent")
    assert "age" in problem


def check_predict_by_position(browser: Browser, client: Client, model_id: str) -> None:
    """A model trained on arrays (columns x0, x1, …) keeps the box of positional rows."""
    browser.evaluate(f"location.hash = '#/models/{model_id}'")
    browser.wait_for("document.querySelector('#predict-input') !== null")
    assert browser.evaluate("document.querySelector('#predict-fields')") is None
    row = [round(v, 4) for v in blobs(n=3, seed=5)[0][1]]
    typed = ", ".join(map(str, row))
    browser.evaluate(f"document.querySelector('#predict-input').value = '{typed}';"
                     " document.querySelector('#predict-form').requestSubmit(); true")
    shown = browser.wait_for("document.querySelector('#predict-table td.prediction')?.textContent")
    assert shown == str(client.predict(model_id, [row]).predictions[0])
