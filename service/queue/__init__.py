"""The job queue: one `jobs` table on SQLite or PostgreSQL, plain keyword-only functions.

Every function is one guarded statement (or one transaction whose single guarded UPDATE decides,
plus the rows that depend on it); none selects and then updates. After a claim, every write
carries ``WHERE id = :id AND lease_token = :t AND status = 'running'``: when it matches nothing
the lease is lost, the function returns False/None and writes nothing. Times come from
PostgreSQL's clock (so many machines agree), or from Python's on SQLite (one host).

    enqueue → claim_next_job → heartbeat / record_epoch / save_checkpoint
            → finish | fail | cancelled | release;   reap_expired takes back silent workers.
"""

from service.queue.backoff import backoff_seconds
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
from service.queue.progress import load_checkpoint, record_epoch, save_checkpoint
from service.queue.submit import IdempotencyConflict, enqueue, queue_depth, request_cancel
from service.queue.wait import wait_for_work

__all__ = [
    "ClaimedJob",
    "Heartbeat",
    "IdempotencyConflict",
    "backoff_seconds",
    "cancelled",
    "claim_next_job",
    "enqueue",
    "fail",
    "finish",
    "heartbeat",
    "load_checkpoint",
    "queue_depth",
    "reap_expired",
    "record_epoch",
    "release",
    "request_cancel",
    "save_checkpoint",
    "wait_for_work",
    "watch_for_jobs",
]
