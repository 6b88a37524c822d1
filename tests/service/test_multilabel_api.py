"""Multi-label through the API on SQLite and PostgreSQL: a CSV with several 0/1 target columns
(the `target` form field repeated) trains with task multilabel, and a stored prediction keeps
each row's label set and `{label: p}`."""

from __future__ import annotations

import numpy as np
from api_helpers import auth, client_for
from test_tables_api import run_next_job

from service.db import Database


def tags_csv(n: int = 150) -> bytes:
    rng = np.random.default_rng(8)
    lines = ["x0,x1,spam,work"]
    for _ in range(n):
        x0, x1 = rng.normal(size=2)
        lines.append(f"{x0:.5f},{x1:.5f},{int(x0 > 0)},{int(x1 > 0)}")
    return ("\n".join(lines) + "\n").encode()


def test_csv_target_columns_train_and_stored_predictions_keep_label_sets(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    upload = client.post("/v1/datasets", files={"file": ("t.csv", tags_csv())},
                         data={"target": ["spam", "work"]}, headers=headers)
    assert upload.status_code == 201, upload.text
    submitted = client.post("/v1/jobs", headers=headers, json={
        "dataset_id": upload.json()["id"], "task": "multilabel", "training": {"epochs": 40}})
    assert submitted.status_code == 202, submitted.text
    run_next_job(db)
    job = client.get(f"/v1/jobs/{submitted.json()['id']}", headers=headers).json()
    assert job["status"] == "succeeded", job
    assert job["metrics"]["val_accuracy"] > 0.8  # Hamming accuracy over 2 labels
    model = client.get(f"/v1/models/{job['model_id']}", headers=headers).json()
    assert model["task"] == "multilabel" and model["classes"] == ["spam", "work"]
    answer = client.post(f"/v1/models/{model['id']}/predict", headers=headers, json={
        "inputs": [[2.0, 2.0], [-2.0, 2.0], [-2.0, -2.0]], "store": True}).json()
    assert answer["predictions"] == [["spam", "work"], ["work"], []]
    stored = client.get(f"/v1/predictions/{answer['prediction_id']}", headers=headers).json()
    assert stored["predictions"] == answer["predictions"]
    assert stored["probabilities"] == answer["probabilities"]
    assert set(stored["probabilities"][0]) == {"spam", "work"}


def _label_set_bodies() -> list[dict[str, object]]:
    rng = np.random.default_rng(9)
    xs = rng.normal(size=(40, 2)).round(4).tolist()
    sets = [[name for name, on in (("spam", x0 > 0), ("work", x1 > 0)) if on] for x0, x1 in xs]
    return [{"name": "sets", "features": xs, "targets": sets},
            {"name": "records", "target": "tags",
             "records": [{"a": x0, "b": x1, "tags": s}
                         for (x0, x1), s in zip(xs, sets, strict=True)]}]


def test_label_set_uploads_default_to_multilabel(db: Database) -> None:
    """Targets uploaded as label sets train as multilabel when the job gives no task (they
    trained as regression on the 0/1 columns before), and the upload's hint says so."""
    client, headers = client_for(db), auth(db)
    for body in _label_set_bodies():
        upload = client.post("/v1/datasets", headers=headers, json=body)
        assert upload.status_code == 201, upload.text
        assert "task 'multilabel'" in upload.json()["hint"], upload.json()
        submitted = client.post("/v1/jobs", headers=headers, json={
            "dataset_id": upload.json()["id"], "training": {"epochs": 2}})
        assert submitted.status_code == 202, submitted.text
        assert submitted.json()["spec"]["task"] == "multilabel", submitted.json()
    plain = client.post("/v1/datasets", files={"file": ("t.csv", tags_csv())},
                        data={"target": ["spam", "work"]}, headers=headers)
    assert "multilabel" in plain.json()["hint"]  # several 0/1 columns: the task is suggested
    submitted = client.post("/v1/jobs", headers=headers, json={
        "dataset_id": plain.json()["id"], "training": {"epochs": 2}})
    assert submitted.json()["spec"]["task"] == "regression"  # columns stay values by default


def test_an_evaluation_with_labels_the_model_lacks_is_refused_naming_one(db: Database) -> None:
    """Label sets over other names (or columns named otherwise) are not read by position."""
    client, headers = client_for(db), auth(db)
    upload = client.post("/v1/datasets", files={"file": ("t.csv", tags_csv())},
                         data={"target": ["spam", "work"]}, headers=headers)
    submitted = client.post("/v1/jobs", headers=headers, json={
        "dataset_id": upload.json()["id"], "task": "multilabel", "training": {"epochs": 2}})
    run_next_job(db)
    model_id = client.get(f"/v1/jobs/{submitted.json()['id']}", headers=headers).json()[
        "model_id"]
    for body in _label_set_bodies()[:1]:  # spam/work as label sets: read by name
        ok = client.post("/v1/datasets", headers=headers, json=body).json()["id"]
        r = client.post(f"/v1/models/{model_id}/evaluations", headers=headers,
                        json={"dataset_id": ok})
        assert r.status_code == 201, r.text
    renamed = tags_csv().replace(b"spam,work", b"ham,play", 1)
    other = client.post("/v1/datasets", files={"file": ("o.csv", renamed)},
                        data={"target": ["ham", "play"]}, headers=headers).json()["id"]
    r = client.post(f"/v1/models/{model_id}/evaluations", headers=headers,
                    json={"dataset_id": other})
    assert r.status_code == 422, r.text  # was 201, ham read as spam and play as work
    assert r.json()["errors"][0]["loc"] == ["body", "dataset_id"]
    assert "'ham'" in r.json()["detail"] and "spam, work" in r.json()["detail"]
