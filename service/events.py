"""A job's server-sent events: ``status`` (data = the job object) and ``epoch`` (a history row).

Streams do not poll for themselves: `service.event_hub` reads every watched job once per interval
for all of them (one worker-thread hop, one short read) and wakes each stream with what is new.
A stream ends after the final status, or when the hub ends it (its key was revoked, its job is
gone). Every event's id is a cursor
of everything sent so far, ``e<epoch>.<status>.<attempts>`` (``e12.running.1``): a client that
reconnects with it as ``Last-Event-ID`` gets the epochs after 12 and a status event only if the
job's status has changed since — nothing twice, nothing missed. A comment line is sent every
``heartbeat_seconds`` so proxies keep an idle stream open.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from service import tables
from service.db import Database
from service.schemas.jobs import JobPublic, history_row

if TYPE_CHECKING:
    from service.event_hub import Watch

Cursor = tuple[int, str | None]


MAX_EPOCH = tables.MAX_INTEGER  # an INTEGER column: larger numbers cannot be bound


def parse_event_id(value: str | None) -> Cursor:
    """``(last epoch sent, status signature sent)`` from a Last-Event-ID.

    One that is not ours (unparsable, an epoch outside 0..2**31-1 that no query can bind, a
    huge header) means none: the stream starts from the beginning.
    """
    if not value or len(value) > 200:
        return 0, None
    epoch_part, _, signature = value.partition(".")
    digits = epoch_part.removeprefix("e")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 10:
        return 0, None
    epoch = int(digits)
    if epoch > MAX_EPOCH:
        return 0, None
    return epoch, signature or None


# Epoch rows of at most this many jobs per statement (SQLite parses `a OR b OR …` as a tree whose
# depth is bounded by SQLITE_MAX_EXPR_DEPTH, 1000).
JOBS_PER_QUERY = 200


def signature(status: str, attempts: int) -> str:
    return f"{status}.{attempts}"


@dataclass(frozen=True)
class Update:
    """A watched job as of one poll: its status signature, the job object (for a status event)
    and its epoch rows ``(epoch, history row)`` after the lowest cursor of its streams."""

    status: str
    signature: str
    job: dict[str, Any]
    epochs: list[tuple[int, dict[str, Any]]]


@dataclass
class PollRead:
    """What one poll read: job states, job objects, epoch rows, the keys still valid."""

    states: dict[str, tuple[str, str, int]]  # job id → (tenant id, status, attempts)
    jobs: dict[str, tuple[str, dict[str, Any]]]  # job id → (signature, job object)
    epochs: dict[str, list[tuple[int, dict[str, Any]]]]
    live_keys: set[str] | None  # None: not checked this time


def read_jobs(
    db: Database, *, cursors: dict[str, int], wanted: dict[str, set[str | None]],
    cached: dict[str, str], keys: set[str] | None,
) -> PollRead:
    """One poll (in a worker thread): the job objects only where a stream will send one."""
    job, epoch_row = tables.Job, tables.JobEpoch
    ids = list(cursors)
    with db.read() as session:
        states = {
            row.id: (row.tenant_id, row.status, row.attempts)
            for row in session.execute(
                select(job.id, job.tenant_id, job.status, job.attempts).where(job.id.in_(ids))
            )
        }
        stale = [
            job_id for job_id, (_, status, attempts) in states.items()
            if {cached.get(job_id), *wanted[job_id]} != {signature(status, attempts)}
        ]
        jobs: dict[str, tuple[str, dict[str, Any]]] = {}
        for row in session.scalars(select(job).where(job.id.in_(stale))):
            # The row read now may be newer than the state above (PostgreSQL reads committed
            # rows per statement): its own status goes with its data.
            states[row.id] = (row.tenant_id, row.status, row.attempts)
            jobs[row.id] = (signature(row.status, row.attempts),
                            JobPublic.of(row).model_dump(mode="json"))
        epochs: dict[str, list[tuple[int, dict[str, Any]]]] = {job_id: [] for job_id in states}
        present = list(states)
        for start in range(0, len(present), JOBS_PER_QUERY):
            after = or_(*(
                and_(epoch_row.job_id == job_id, epoch_row.epoch > cursors[job_id])
                for job_id in present[start:start + JOBS_PER_QUERY]
            ))
            query = select(epoch_row).where(after).order_by(epoch_row.job_id, epoch_row.epoch)
            for epoch in session.scalars(query):
                epochs[epoch.job_id].append((epoch.epoch, history_row(epoch)))
        live_keys = None
        if keys is not None:
            key = tables.ApiKey
            live_keys = set(session.scalars(
                select(key.id).where(key.id.in_(list(keys)), key.revoked_at.is_(None))
            ))
    return PollRead(states=states, jobs=jobs, epochs=epochs, live_keys=live_keys)


def _event(kind: str, event_id: str, data: Any) -> bytes:
    return f"id: {event_id}\nevent: {kind}\ndata: {json.dumps(data, default=str)}\n\n".encode()


async def job_stream(
    watch: Watch, *, heartbeat_seconds: float = 10.0
) -> AsyncIterator[bytes]:
    """The events of ``watch``'s job from its cursor on; ends after the final status, or when
    the hub ends the watch (the job is gone, or the key was revoked)."""
    epoch, signature = watch.epoch, watch.signature
    last_sent = time.monotonic()
    yield b"retry: 1000\n\n"
    while True:
        update = await watch.next()
        if update is None:
            return
        final = update.status in tables.FINAL_STATUSES
        current = update.signature
        if current != signature and not final:
            signature = watch.signature = current
            yield _event("status", f"e{epoch}.{signature}", update.job)
            last_sent = time.monotonic()
        for number, row in update.epochs:
            if number <= epoch:
                continue  # sent already (the hub reads from the lowest cursor of the job)
            epoch = watch.epoch = number
            yield _event("epoch", f"e{epoch}.{signature}", row)
            last_sent = time.monotonic()
        if final:
            if current != signature:
                yield _event("status", f"e{epoch}.{current}", update.job)
            return
        if time.monotonic() - last_sent >= heartbeat_seconds:
            yield b": keep-alive\n\n"
            last_sent = time.monotonic()


class EventStreamResponse(StreamingResponse):
    """``text/event-stream`` of one `Watch`, whose slot is given back however the response ends
    (finished, client gone, or never started)."""

    def __init__(self, watch: Watch, *, heartbeat_seconds: float = 10.0) -> None:
        super().__init__(
            job_stream(watch, heartbeat_seconds=heartbeat_seconds),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self.watch = watch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.watch.close()
