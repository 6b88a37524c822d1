"""What the template process prepares once for the training processes it forks: the imports'
first calls (`warm_up`), the database with its statements compiled (`warm_database`, by a
rehearsal rolled back), and — in each forked spare, while it waits — the page faults and the
connection (`get_ready`)."""

from __future__ import annotations

import gc
import logging
from typing import Any

log = logging.getLogger("descent.worker.template")


class Warm:
    """What the template prepared for its training processes: the database (its dialect and
    statement caches warm, no connection open) and the BLAS threads pinned."""

    db: Any = None
    database_url: str | None = None
    lease_seconds: float | None = None

    @classmethod
    def database_for(cls, payload: dict[str, Any]) -> Any:
        """The warm database if it is the one ``payload``'s job needs, else None."""
        if (cls.db is not None and payload["database_url"] == cls.database_url
                and float(payload["lease_seconds"]) == cls.lease_seconds):
            return cls.db
        return None


def warm_database(database_url: str, lease_seconds: float) -> None:
    """Open the jobs' database, rehearse a small job on it (`rehearse`), and close its
    connections: each training process opens its own, but finds the dialect initialized, the
    ORM configured and the job's statements compiled (~10 ms of CPU a job, measured)."""
    from service.db import connect
    from worker.runner import bound_stalled_transactions

    db = connect(database_url, pool_size=1)
    bound_stalled_transactions(db, lease_seconds)
    try:
        rehearse(db, lease_seconds)
    finally:
        db.dispose()  # no connection may cross a fork
    Warm.db, Warm.database_url, Warm.lease_seconds = db, database_url, lease_seconds


def rehearse(db: Any, lease_seconds: float) -> None:
    """Run a 1-epoch job from upload to ``finish`` inside one transaction that is rolled back:
    nothing of it is ever seen, and no other job is touched (it is leased directly, not
    claimed). On SQLite it holds the write lock for those milliseconds."""
    import uuid

    import numpy as np
    from sqlalchemy import update

    from service import queue, tables
    from service.datasets.from_json import parse_json
    from service.db import Database
    from service.ids import new_id
    from service.repository.datasets import new_dataset
    from worker.jobs import JobContext, run_job

    rng = np.random.default_rng(0)
    body = {"features": rng.standard_normal((40, 4)).tolist(),
            "targets": rng.integers(0, 2, 40).tolist()}
    with db.writer.connect() as connection:
        outer = connection.begin()
        try:
            # Every session on this connection joins `outer` (SQLAlchemy's default for a
            # connection already in a transaction), so rolling it back undoes them all.
            inside = Database(url=db.url, engine=connection, writer=connection)
            tenant_id = new_id("ten")
            dataset = new_dataset(parse_json(body), tenant_id=tenant_id, name=None, size_bytes=0)
            with inside.write() as session:
                session.add(tables.Tenant(id=tenant_id, name="template rehearsal"))
            with inside.write() as session:
                session.add(dataset)
            job, _ = queue.enqueue(inside, tenant_id=tenant_id, kind="train",
                                   dataset_id=dataset.id, spec={"training": {"epochs": 1}},
                                   max_attempts=1, progress_epochs=1)
            token = uuid.uuid4().hex
            with inside.write() as session:
                session.execute(update(tables.Job).where(tables.Job.id == job.id).values(
                    status="running", attempts=1, lease_token=token, lease_owner="template"))
            claimed = queue.ClaimedJob(
                id=job.id, tenant_id=tenant_id, kind="train", dataset_id=dataset.id,
                model_id=None, spec={"training": {"epochs": 1}}, attempts=1, max_attempts=1,
                lease_token=token)
            run_job(JobContext(db=inside, job=claimed))
            queue.heartbeat(inside, job_id=job.id, lease_token=token, lease_seconds=lease_seconds)
            queue.load_checkpoint(inside, job_id=job.id)
        finally:
            outer.rollback()


def warm_up() -> None:
    """Run what a small job runs once — the lazy imports and first calls of the engine, the
    pipeline and the report — so that a forked training process finds them done."""
    import numpy as np

    import service.evaluation  # noqa: F401
    import worker.jobs.divergence  # noqa: F401
    from service.artifacts import decode_table, encode_dataset, encode_weights
    from worker.jobs.train import fill_preprocessing, prepare, validation_report
    from worker.nn import Network, RandomStreams, fill_training_defaults, run_fit

    rng = np.random.default_rng(0)
    X, _ = decode_table(encode_dataset(rng.standard_normal((20, 3)), rng.integers(0, 2, 20)))
    Y = np.eye(2)[rng.integers(0, 2, 20)]
    config = fill_training_defaults({"epochs": 1})
    streams = RandomStreams(0)
    data = prepare(X, Y, config, streams.generator("split"), np.dtype(config["dtype"]),
                   fill_preprocessing(None))
    net = Network.from_spec({}, data.pipeline.width, 2, seed=0, dtype=config["dtype"],
                            task="classification")
    run_fit(net, data.X, data.Y, config, task="classification", streams=streams,
            validation=data.validation, on_epoch=lambda *_: None, should_stop=lambda: False)
    validation_report("classification", net, data, [0, 1])
    encode_weights(net.params, data.pipeline.to_arrays())


def get_ready() -> None:
    """While waiting for a job: open the database connection and touch what a job touches
    (the warm-up again), so that the copy-on-write page faults a forked process takes on its
    first writes (measured: ~4,000 pages, ~20 ms of CPU for a small job) and the connection's
    set-up are behind it when the job comes, not on the job's time."""
    try:
        if Warm.db is not None:
            with Warm.db.engine.connect():
                pass  # back to the pool, open
        gc.enable()
        warm_up()
    except Exception:  # noqa: BLE001 - a slower start, not a failure
        log.warning("preparing a spare for its job failed", exc_info=True)
