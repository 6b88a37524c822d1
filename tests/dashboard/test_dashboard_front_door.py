"""The dashboard as a front door: from a CSV to a model without a terminal, by clicks and keys.

Headless Chromium over the DevTools protocol (cdp.py) against a real `descent serve` with a
worker. The whole path: upload a CSV with a text column and blanks, pick the target, design a
2-layer network, see the estimate, submit, watch epochs arrive, open the model, download its ONNX
file, predict one row by column name. Then the comparison of three jobs and the truthful states.
axe-core (axe.py) checks the WCAG 2.1 A/AA rules on the jobs, job, model, dataset and new-job
pages. Screenshots land in ``test-artifacts/``; ``DESCENT_DOCS_SCREENSHOT=1`` refreshes the two
in docs/.
"""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from axe import violations
from cdp import Browser
from descent_server import ROOT, Server
from descent_testdata import blobs, churn_records

from descent import Client

pytestmark = [pytest.mark.system, pytest.mark.slow]

ARTIFACTS = ROOT / "test-artifacts"
COLUMNS = ["age", "city", "churned", "plan", "income"]  # the target is not the last column
POINTS = "Number(document.querySelector('#loss-chart')?.dataset.points || 0)"
BARS = ("(() => { const bars = [...document.querySelectorAll('.target-chart rect')];"
        " return bars.length && bars.map(b => Number(b.dataset.count)); })()")


def write_csv(path: Path) -> Path:
    lines = [",".join(COLUMNS)]
    for record in churn_records(n=200, seed=8):
        lines.append(",".join("" if record[c] is None else str(record[c]) for c in COLUMNS))
    path.write_text("\n".join(lines) + "\n")
    return path


def shot(browser: Browser, name: str) -> None:
    """The whole page, top to bottom, whatever was scrolled into view."""
    browser.evaluate("window.scrollTo(0, 0); document.activeElement.blur(); true")
    time.sleep(0.3)  # let the last frame paint
    height = browser.evaluate("document.documentElement.scrollHeight")
    # A window as tall as the page, so what sticks to the window's bottom sits at the page's end.
    browser.call("Emulation.setDeviceMetricsOverride", width=1280, height=height,
                 deviceScaleFactor=1, mobile=False)
    try:
        time.sleep(0.2)
        png = base64.b64decode(browser.call("Page.captureScreenshot", format="png")["data"])
    finally:
        browser.call("Emulation.clearDeviceMetricsOverride")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"front-door-{name}.png").write_bytes(png)
    if os.environ.get("DESCENT_DOCS_SCREENSHOT") and name in ("new-job", "compare"):
        (ROOT / "docs" / f"dashboard-{name}.png").write_bytes(png)


def accessible(browser: Browser, axe: str, page: str) -> None:
    found = violations(browser, axe)
    assert found == [], f"axe on the {page} page: {json.dumps(found, indent=1)}"


def q(selector: str) -> str:
    """The JavaScript for the element ``selector`` names."""
    return f"document.querySelector({json.dumps(selector)})"


def choose(browser: Browser, selector: str, value: str) -> None:
    """Pick an option of a <select> with the arrow keys, as a keyboard user does."""
    browser.focus(selector)
    options = browser.evaluate(f"[...{q(selector)}.options].map(o => o.value)")
    at = browser.evaluate(f"{q(selector)}.selectedIndex")
    for _ in range(abs(options.index(value) - at)):
        browser.press("ArrowDown" if options.index(value) > at else "ArrowUp")
    assert browser.evaluate(f"{q(selector)}.value") == value


def test_from_a_csv_to_a_prediction(server: Server, browser: Browser, axe: str,
                                    tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "customers.csv")
    browser.navigate(f"{server.url}/#/upload?key={server.api_key}")
    browser.wait_for("document.querySelector('#upload-file') !== null")

    # The file chooser; the preview shows each column's kind and blanks before anything is sent.
    browser.set_files("#upload-file", [csv])
    profile = browser.wait_for(
        "(() => { const cells = [...document.querySelectorAll('tr.profile td[data-column]')];"
        " return cells.length && cells.map(c => [c.dataset.column, c.dataset.kind,"
        " Number(c.dataset.missing)]); })()")
    records = churn_records(n=200, seed=8)
    blanks = {c: sum(r[c] is None for r in records) for c in COLUMNS}
    assert profile == [["age", "numeric", blanks["age"]], ["city", "categorical", blanks["city"]],
                       ["churned", "categorical", 0], ["plan", "categorical", 0],
                       ["income", "numeric", 0]]
    assert blanks["age"] > 0 and blanks["city"] > 0
    assert browser.evaluate("document.querySelectorAll('#preview-table tbody tr').length") == 8
    choose(browser, "#upload-target", "churned")
    accessible(browser, axe, "upload")
    shot(browser, "upload")

    # A kind override goes with the upload: text read as numbers is refused, naming the column.
    choose(browser, "select[data-column=plan]", "numeric")
    browser.focus("#upload-submit")
    browser.press("Enter")
    refused = browser.wait_for(f"{q('#upload-output .problem')}?.textContent")
    assert "422" in refused and "plan" in refused
    choose(browser, "select[data-column=plan]", "")
    browser.focus("#upload-submit")
    browser.press("Enter")

    # The dataset page: the schema as the server read it, the class balance of the target.
    dataset_id = browser.wait_for("location.hash.startsWith('#/datasets/ds_')"
                                  " && location.hash.slice(11)")
    bars = browser.wait_for(BARS)
    assert sum(bars) == 200 and len(bars) == 2  # "no" and "yes"
    kinds = browser.evaluate("[...document.querySelectorAll('#columns-table tr[data-column]')]"
                             ".map(r => [r.dataset.column, r.dataset.kind])")
    assert kinds == [["age", "numeric"], ["city", "categorical"], ["plan", "categorical"],
                     ["income", "numeric"]]
    accessible(browser, axe, "dataset")
    shot(browser, "dataset")

    # Design a 2-layer network: 16 relu, 8 relu, one layer added and removed again.
    browser.click("#train-on-dataset")
    browser.wait_for("document.querySelector('#estimate')?.dataset.parameters")
    browser.replace_text("#layer-0-units", "16")
    browser.replace_text("#layer-1-units", "8")
    choose(browser, "#layer-1-activation", "relu")
    browser.click("#add-layer")
    assert browser.evaluate("document.querySelectorAll('#layer-list li').length") == 3
    browser.click("#layer-list li:nth-child(3) button")
    assert browser.evaluate("document.querySelectorAll('#layer-list li').length") == 2
    browser.replace_text("#job-epochs", "400")
    browser.replace_text("#job-batch", "4")
    browser.focus("#job-stopping")
    browser.press("Space")  # early stopping off: every epoch runs
    assert browser.evaluate("document.querySelector('#job-stopping').checked") is False

    # A field the server refuses: its message stands next to that field, then goes away.
    browser.replace_text("#layer-0-units", "0")
    assert browser.wait_for("document.querySelector('#layer-0-units-error').textContent")
    assert browser.evaluate(f"{q('#layer-0-units')}.getAttribute('aria-invalid')") == "true"
    browser.replace_text("#layer-0-units", "16")
    browser.wait_for("!document.querySelector('#layer-0-units-error').textContent")

    spec = {"dataset_id": dataset_id, "network": {"hidden_layers": [
        {"units": 16, "activation": "relu"}, {"units": 8, "activation": "relu"}]},
        "training": {"epochs": 400, "batch_size": 4, "early_stopping": None}}
    with Client(server.url, server.api_key) as client:
        expected = client.estimate(spec)
        shown = browser.wait_for(f"{q('#estimate')}.dataset.parameters == {expected.parameters}"
                                 f" && {q('#estimate')}.textContent")
        assert f"{expected.parameters:,} parameters" in shown
        accessible(browser, axe, "new-job")
        shot(browser, "new-job")

        # Submit; the live job page's chart grows epoch by epoch.
        browser.click("#submit-job")
        job_id = browser.wait_for("location.hash.startsWith('#/jobs/job_')"
                                  " && location.hash.slice(7)")
        first = browser.wait_for(POINTS, timeout=120)
        job = client.get_job(job_id)
        assert job.spec["network"]["hidden_layers"][0]["units"] == 16
        assert job.spec["training"]["epochs"] == 400
        if first < 400:
            assert browser.wait_for(f"{POINTS} > {first} && {POINTS}", timeout=120) > first
        accessible(browser, axe, "job")
        browser.wait_for(f"{POINTS} === 400", timeout=300)
        state = browser.wait_for(f"{q('#job-state')}?.textContent.includes('400 of 400 epochs')"
                                 f" && {q('#job-state')}.textContent")
        assert "400 of 400 epochs" in state
        shot(browser, "job")

        # The model: its page, the ONNX file, a prediction by column name.
        model_id = client.get_job(job_id).model_id
        assert model_id
        browser.wait_for(f"document.querySelector('a[href=\"#/models/{model_id}\"]') !== null")
        browser.click(f".job-head a[href='#/models/{model_id}']")
        browser.wait_for("document.querySelector('#predict-fields input[data-column]') !== null")
        downloads = tmp_path / "downloads"
        browser.allow_downloads(downloads)
        browser.click("#download-onnx")
        onnx = downloads / f"{model_id}.onnx"
        deadline = time.monotonic() + 30
        while not (onnx.exists() and onnx.stat().st_size):
            assert time.monotonic() < deadline, f"no {onnx.name} in {list(downloads.glob('*'))}"
            time.sleep(0.1)
        assert onnx.read_bytes() == client.download_onnx(model_id)

        for column, value in [("age", "61"), ("plan", "free"), ("income", "48000")]:
            browser.focus(f"#predict-fields input[data-column={column}]")
            browser.type_text(value)
        browser.press("Enter")  # city stays blank: a missing cell
        label = browser.wait_for(f"{q('#predict-table td.prediction')}?.textContent")
        answer = client.predict(model_id, [{"age": 61, "city": None, "plan": "free",
                                            "income": 48000}])
        assert label == str(answer.predictions[0])
        accessible(browser, axe, "model")
        shot(browser, "model")


def upload_npz(server: Server, browser: Browser, path: Path) -> str:
    """An .npz through the upload page: its preview (X's columns, y), then the dataset's id."""
    X, y = blobs(n=160, seed=4)
    X[2, 1] = np.nan  # a missing cell
    np.savez_compressed(path, X=X, y=y)
    browser.navigate(f"{server.url}/#/upload?key={server.api_key}")
    browser.wait_for("document.querySelector('#upload-file') !== null")
    browser.set_files("#upload-file", [path])
    profile = browser.wait_for(
        "(() => { const cells = [...document.querySelectorAll('tr.profile td[data-column]')];"
        " return cells.length && cells.map(c => [c.dataset.column, c.dataset.kind,"
        " c.dataset.missing === undefined ? null : Number(c.dataset.missing)]); })()")
    assert profile == [["x0", "numeric", 0], ["x1", "numeric", 1], ["x2", "numeric", 0],
                       ["x3", "numeric", 0], ["y", "target", None]]
    first = browser.evaluate("[...document.querySelectorAll('#preview-table tbody tr')]"
                             ".map(r => [...r.cells].map(c => c.textContent))[0]")
    assert first[-1] == str(y[0]) and float(first[0]) == pytest.approx(X[0, 0], rel=1e-3)
    shot(browser, "upload-npz")
    browser.focus("#upload-submit")
    browser.press("Enter")
    dataset_id: str = browser.wait_for("location.hash.startsWith('#/datasets/ds_')"
                                       " && location.hash.slice(11)")
    return dataset_id


def test_compare_three_jobs_and_truthful_states(server: Server, browser: Browser,
                                                axe: str, tmp_path: Path) -> None:
    with Client(server.url, server.api_key) as client:
        dataset = client.get_dataset(upload_npz(server, browser, tmp_path / "blobs.npz"))
        X = blobs(n=160, seed=4)[0]
        assert dataset.n_rows == 160 and dataset.columns and dataset.columns[1]["missing"] == 1
        compared = [client.submit_job(
            dataset_id=dataset.id, training={"epochs": epochs, "early_stopping": None},
            network={"hidden_layers": [{"units": units}]})
            for epochs, units in [(4, 8), (6, 16), (8, 32)]]
        # Early stopping on a long budget: it stops far before its 3000 epochs.
        early = client.submit_job(dataset_id=dataset.id, training={
            "epochs": 3000, "early_stopping": {"patience": 2, "min_delta": 0.05}})
        # Targets of 1e8 unscaled and a learning rate of 1: the loss overflows (DIVERGED).
        prices = client.upload_dataset(X, 1e8 * (1 + X[:, 0] ** 2), target_kind="values")
        diverging = client.submit_job(dataset_id=prices.id, training={
            "epochs": 30, "standardize_targets": False, "early_stopping": None,
            "optimizer": {"name": "sgd", "learning_rate": 1.0}})
        jobs = {j.id: client.wait(j.id, timeout=180) for j in [*compared, early, diverging]}
        assert all(jobs[j.id].status == "succeeded" for j in [*compared, early])
        failed = jobs[diverging.id]
        assert failed.status == "failed" and failed.error and failed.error["code"] == "DIVERGED"
        cancelled = client.submit_job(dataset_id=dataset.id, training={
            "epochs": 10000, "batch_size": 4, "early_stopping": None})
        deadline = time.monotonic() + 120
        while client.get_job(cancelled.id).epoch < 1:
            assert time.monotonic() < deadline, "the long job never started"
            time.sleep(0.1)
        client.cancel_job(cancelled.id)
        jobs[cancelled.id] = client.wait(cancelled.id, timeout=60)
        assert jobs[cancelled.id].status == "cancelled"
        histories = {j.id: client.history(j.id) for j in compared}

        browser.navigate(f"{server.url}/#/?key={server.api_key}")
        browser.wait_for(f"document.querySelector('#pick-{early.id}') !== null")
        stopped = jobs[early.id]
        assert stopped.epoch < 3000 and stopped.best_epoch
        row = browser.evaluate(f"{q(f'tr[data-job-id={early.id}] td.progress')}.textContent")
        assert row.strip() == (f"stopped early at epoch {stopped.epoch} of 3000 "
                               f"(best {stopped.best_epoch})")
        assert browser.evaluate(f"(() => {{ const p = {q(f'tr[data-job-id={early.id}] progress')};"
                                " return p.value === p.max; })()")
        said = {job_id: browser.evaluate(f"{q(f'tr[data-job-id={job_id}] td.progress')}"
                                         ".textContent.trim()")
                for job_id in (failed.id, cancelled.id)}
        assert said == {failed.id: f"failed at epoch {failed.epoch} of 30",
                        cancelled.id: f"cancelled after epoch {jobs[cancelled.id].epoch} of 10000"}
        for job in compared:
            browser.click(f"#pick-{job.id}")
        accessible(browser, axe, "jobs")
        browser.focus("#compare-selected")
        browser.press("Enter")

        drawn = browser.wait_for(
            "(() => { const lines = [...document.querySelectorAll('#compare-chart polyline')];"
            " return lines.length && lines.map(l => [l.dataset.job, l.dataset.series,"
            " Number(l.dataset.points), l.getAttribute('points').split(' ').length]); })()")
        assert sorted(drawn) == sorted(
            [j.id, series, len(histories[j.id]), len(histories[j.id])]
            for j in compared for series in ("loss", "val_loss"))
        legend = browser.evaluate("[...document.querySelectorAll('#compare-legend li')]"
                                  ".map(li => li.textContent)")
        assert len(legend) == 3
        assert all("epochs=" in text and "hidden_layers=" in text for text in legend)
        assert browser.evaluate("document.querySelectorAll('#compare-table tbody tr').length") == 3
        accessible(browser, axe, "compare")
        shot(browser, "compare")

        # The early-stopped job's own page says so too, with a full bar.
        browser.evaluate(f"location.hash = '#/jobs/{early.id}'")
        said = browser.wait_for("document.querySelector('#job-state')?.textContent")
        assert f"stopped early at epoch {stopped.epoch} of 3000" in said
        assert browser.evaluate("(() => { const p = document.querySelector('#job-progress-bar');"
                                " return p.value === p.max; })()")

        # A failed job: its error, a hint, and the form to train again with its settings.
        browser.evaluate(f"location.hash = '#/jobs/{failed.id}'")
        error = browser.wait_for(f"{q('#job-error')}?.textContent")
        assert error.startswith("DIVERGED: ") and "train again with changes" in error
        shot(browser, "failed-job")
        browser.click("#train-again")
        browser.wait_for(f"{q('#estimate')}?.textContent.includes('parameters')")
        assert browser.evaluate(f"[{q('#job-optimizer')}.value, {q('#job-rate')}.value,"
                                f" {q('#job-epochs')}.value, {q('#job-dataset')}.value]") == [
            "sgd", "1", "30", prices.id]

        # A dataset of values: its page draws their histogram, and lists the job trained on it.
        browser.evaluate(f"location.hash = '#/datasets/{prices.id}'")
        bars = browser.wait_for(BARS)
        assert len(bars) == 20 and sum(bars) == 160
        assert browser.evaluate(f"{q('.target-chart')}.dataset.kind") == "values"
        job_link = f'#dataset-jobs-table a[href="#/jobs/{failed.id}"]'
        assert browser.wait_for(f"{q(job_link)} !== null")
