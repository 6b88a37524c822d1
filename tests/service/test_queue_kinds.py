"""The registry of job kinds: enqueue refuses any other kind, the API schema and /metrics list
every registered one, and the worker runs a kind through the runner it names. A kind added by
registering it alone (here with monkeypatch) is queued, claimed, run and counted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from service import queue, tables
from service.db import Database
from service.queue import kinds
from service.schemas.jobs import JobPublic
from tests.service.api_helpers import client_for


def run_echo(ctx: Any) -> None:
    """The runner of the test's extra kind: succeeds with what it was given as its metrics."""
    assert queue.record_epoch(ctx.db, job_id=ctx.job.id, lease_token=ctx.job.lease_token,
                              epoch=1, metrics=ctx.job.spec, seconds=0.0)
    assert queue.finish(ctx.db, job_id=ctx.job.id, lease_token=ctx.job.lease_token)


ECHO = kinds.JobKind(
    name="echo", description="Test kind.", runner="tests.service.test_queue_kinds:run_echo"
)


@pytest.fixture
def echo_kind(monkeypatch: pytest.MonkeyPatch) -> kinds.JobKind:
    monkeypatch.setitem(kinds.JOB_KINDS, ECHO.name, ECHO)
    return ECHO


def test_the_registry_holds_train_and_predict_with_their_runners() -> None:
    from worker.jobs.evaluate import run_evaluate
    from worker.jobs.predict import run_predict
    from worker.jobs.train import run_train

    assert kinds.kind_names() == ("train", "predict", "evaluate")
    assert kinds.job_kind("evaluate").load_runner() is run_evaluate
    assert kinds.job_kind("train").load_runner() is run_train
    assert kinds.job_kind("predict").load_runner() is run_predict
    assert all(kind.description for kind in kinds.JOB_KINDS.values())


def test_register_refuses_a_duplicate_or_a_malformed_kind() -> None:
    with pytest.raises(ValueError, match="registered already"):
        kinds.register(kinds.JobKind("train", "again", "worker.jobs.train:run_train"))
    with pytest.raises(ValueError, match="package.module:function"):
        kinds.register(kinds.JobKind("explain", "no function", "worker.jobs.explain"))
    with pytest.raises(ValueError, match="1 to 16 characters"):
        kinds.register(kinds.JobKind("x" * 17, "too long", "a:b"))
    assert kinds.kind_names() == ("train", "predict", "evaluate")


def test_an_unknown_kind_is_refused_at_enqueue(
    db: Database, tenant: str, dataset_row: Callable[..., str]
) -> None:
    with pytest.raises(queue.UnknownJobKind, match="'explain'.*train, predict, evaluate"):
        queue.enqueue(db, tenant_id=tenant, kind="explain", dataset_id=dataset_row(), spec={})
    assert queue.queue_depth(db) == 0


def test_the_api_schema_lists_the_kinds() -> None:
    kind = JobPublic.model_json_schema()["properties"]["kind"]
    assert kind["enum"] == list(kinds.kind_names())
    assert "`train`" in kind["description"] and "`predict`" in kind["description"]


def test_metrics_list_every_registered_kind_with_zeros(
    db: Database, echo_kind: kinds.JobKind
) -> None:
    text = client_for(db).get("/metrics").text
    samples = {
        (sample.labels["kind"], sample.labels["status"]): sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "descent_jobs"
        for sample in family.samples
    }
    expected = {(k, s) for k in ("train", "predict", "evaluate", "echo")
                for s in tables.JOB_STATUSES}
    assert set(samples) == expected and set(samples.values()) == {0}


def test_a_registered_kind_is_queued_claimed_and_run(
    db: Database, tenant: str, dataset_row: Callable[..., str], echo_kind: kinds.JobKind
) -> None:
    from worker.jobs import JobContext, run_job

    spec = {"echo": 1.0}
    job, _ = queue.enqueue(db, tenant_id=tenant, kind="echo", dataset_id=dataset_row(), spec=spec)
    claimed = queue.claim_next_job(db, worker_id="w", lease_seconds=60)
    assert claimed is not None and claimed.kind == "echo"
    run_job(JobContext(db=db, job=claimed))
    with db.read() as session:
        row = session.get(tables.Job, job.id)
        assert row is not None and (row.status, row.metrics) == ("succeeded", spec)


def test_the_worker_fails_a_job_of_an_unknown_kind_as_invalid(
    db: Database, tenant: str, dataset_row: Callable[..., str], echo_kind: kinds.JobKind
) -> None:
    """A job queued under a kind this worker does not know (a newer release queued it)."""
    from worker.jobs import InvalidJob, JobContext, run_job

    queue.enqueue(db, tenant_id=tenant, kind="echo", dataset_id=dataset_row(), spec={})
    claimed = queue.claim_next_job(db, worker_id="w", lease_seconds=60)
    assert claimed is not None
    del kinds.JOB_KINDS["echo"]
    with pytest.raises(InvalidJob, match="unknown job kind 'echo'"):
        run_job(JobContext(db=db, job=claimed))
