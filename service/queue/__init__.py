"""The job queue: one `jobs` table on SQLite or PostgreSQL, plain keyword-only functions.

Every function is one guarded statement (or one transaction whose single guarded UPDATE decides,
plus the rows that depend on it); none selects and then updates. After a claim, every write
carries ``WHERE id = :id AND lease_token = :t AND status = 'running'``: when it matches nothing
the lease is lost, the function returns False/None and writes nothing. Times come from
PostgreSQL's clock (so many machines agree), or from Python's on SQLite (one host).

    enqueue | enqueue_many → claim_next_job → heartbeat / record_epoch / save_checkpoint
            → finish | fail | cancelled | release;   reap_expired takes back silent workers.

The kinds of job are a registry (`service.queue.kinds`); whose turn it is when a worker claims,
across tenants, is `service.queue.fairness`.
"""

from service.queue.attempts import ended_by_its_process
from service.queue.backoff import backoff_seconds
from service.queue.kinds import JOB_KINDS, JobKind, UnknownJobKind, job_kind, kind_names
from service.queue.lease import (
    ClaimedJob,
    Heartbeat,
    claim_next_job,
    heartbeat,
    reap_expired,
    release,
)
from service.queue.notify import watch_for_jobs
from service.queue.outcome import cancelled, fail, finish
from service.queue.progress import (
    EpochRow,
    load_checkpoint,
    record_epoch,
    record_epochs,
    save_checkpoint,
)
from service.queue.submit import (
    IdempotencyConflict,
    NewJob,
    QueueFull,
    enqueue,
    enqueue_many,
    queue_depth,
    request_cancel,
)
from service.queue.wait import wait_for_work

__all__ = [
    "JOB_KINDS",
    "ClaimedJob",
    "EpochRow",
    "Heartbeat",
    "IdempotencyConflict",
    "JobKind",
    "NewJob",
    "QueueFull",
    "UnknownJobKind",
    "backoff_seconds",
    "cancelled",
    "claim_next_job",
    "enqueue",
    "ended_by_its_process",
    "enqueue_many",
    "fail",
    "finish",
    "heartbeat",
    "job_kind",
    "kind_names",
    "load_checkpoint",
    "queue_depth",
    "reap_expired",
    "record_epoch",
    "record_epochs",
    "release",
    "request_cancel",
    "save_checkpoint",
    "wait_for_work",
    "watch_for_jobs",
]
