"""A job's server-sent events: ``status`` (data = the job object) and ``epoch`` (a history row).

The stream polls the database (every ``poll_seconds``, a short-lived session each time, so no
connection is held between polls) and ends after the final status. Every event's id is a cursor
of everything sent so far, ``e<epoch>.<status>.<attempts>`` (``e12.running.1``): a client that
reconnects with it as ``Last-Event-ID`` gets the epochs after 12 and a status event only if the
job's status has changed since — nothing twice, nothing missed. A comment line is sent every
``heartbeat_seconds`` so proxies keep an idle stream open.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import anyio
from sqlalchemy import select

from service import tables
from service.db import Database
from service.schemas.jobs import JobPublic, history_row

Cursor = tuple[int, str | None]


MAX_EPOCH = 2**31 - 1  # JobEpoch.epoch is an INTEGER column


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


def _signature(job: tables.Job) -> str:
    return f"{job.status}.{job.attempts}"


def _event(kind: str, event_id: str, data: Any) -> bytes:
    return f"id: {event_id}\nevent: {kind}\ndata: {json.dumps(data, default=str)}\n\n".encode()


def _poll(
    db: Database, tenant_id: str, job_id: str, after: int
) -> tuple[tables.Job | None, Sequence[tables.JobEpoch]]:
    with db.read() as session:
        job = session.scalar(
            select(tables.Job).where(tables.Job.id == job_id, tables.Job.tenant_id == tenant_id)
        )
        if job is None:
            return None, ()
        epochs = session.scalars(
            select(tables.JobEpoch)
            .where(tables.JobEpoch.job_id == job_id, tables.JobEpoch.epoch > after)
            .order_by(tables.JobEpoch.epoch)
        ).all()
        return job, epochs


async def job_stream(
    db: Database,
    *,
    tenant_id: str,
    job_id: str,
    last_event_id: str | None,
    is_disconnected: Callable[[], Awaitable[bool]],
    poll_seconds: float = 0.5,
    heartbeat_seconds: float = 10.0,
) -> AsyncIterator[bytes]:
    epoch, signature = parse_event_id(last_event_id)
    last_sent = time.monotonic()
    yield b"retry: 1000\n\n"
    while True:
        job, rows = await anyio.to_thread.run_sync(_poll, db, tenant_id, job_id, epoch)
        if job is None:
            return
        final = job.status in tables.FINAL_STATUSES
        current = _signature(job)
        if current != signature and not final:
            signature = current
            yield _event("status", f"e{epoch}.{signature}", _job_data(job))
            last_sent = time.monotonic()
        for row in rows:
            epoch = row.epoch
            yield _event("epoch", f"e{epoch}.{signature}", history_row(row))
            last_sent = time.monotonic()
        if final:
            if current != signature:
                yield _event("status", f"e{epoch}.{current}", _job_data(job))
            return
        if time.monotonic() - last_sent >= heartbeat_seconds:
            yield b": keep-alive\n\n"
            last_sent = time.monotonic()
        if await is_disconnected():
            return
        await anyio.sleep(poll_seconds)


def _job_data(job: tables.Job) -> dict[str, Any]:
    data: dict[str, Any] = JobPublic.of(job).model_dump(mode="json")
    return data
