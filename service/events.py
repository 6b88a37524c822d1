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
from typing import Any

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from service import tables
from service.event_hub import Watch

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
