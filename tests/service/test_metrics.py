"""/metrics parses with prometheus-client's own parser and its counts are the database's."""

from __future__ import annotations

from collections import Counter

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from service import tables
from service.db import Database
from tests.service.api_helpers import auth, client_for, fake_model, upload


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_parse_and_match_the_database(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    dataset_id = upload(client, headers)
    fake_model(db, client, headers, dataset_id)  # one succeeded train job
    for _ in range(2):
        client.post("/v1/jobs", json={"dataset_id": dataset_id}, headers=headers)
    queued = client.post("/v1/jobs", json={"dataset_id": dataset_id}, headers=headers).json()
    client.post(f"/v1/jobs/{queued['id']}/cancel", headers=headers)
    with db.write() as session:
        for epoch in (1, 2, 3):
            session.add(tables.JobEpoch(job_id=queued["id"], epoch=epoch, metrics={}, seconds=0.1))

    samples = _samples(client.get("/metrics").text)

    with db.read() as session:
        by_status = Counter(
            {(k, s): n for k, s, n in session.execute(
                select(tables.Job.kind, tables.Job.status, func.count())
                .group_by(tables.Job.kind, tables.Job.status)
            )}
        )
        epochs = session.scalar(select(func.count()).select_from(tables.JobEpoch))
    for kind in ("train", "predict"):
        for status in tables.JOB_STATUSES:
            key = ("descent_jobs", (("kind", kind), ("status", status)))
            assert samples[key] == by_status[(kind, status)], key
    assert samples[("descent_queue_depth", ())] == by_status[("train", "queued")] == 2
    assert samples[("descent_epochs_total", ())] == epochs == 3
    assert samples[("descent_epochs_per_second", ())] == 3 / 60
    assert samples[("descent_database_up", ())] == 1
    count = ("descent_job_duration_seconds_count", (("kind", "train"), ("status", "succeeded")))
    assert samples[count] == 1
