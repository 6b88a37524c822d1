"""Following a job to its end: the event stream first, with reconnection, polling as a fallback.

The stream (``GET /v1/jobs/{id}/events``) is re-opened with ``Last-Event-ID`` when it drops, so
nothing is seen twice or missed. When the server cannot stream (no such route, a proxy that
buffers, a stream that keeps closing without events) we poll the job and ``history?after=``,
which delivers the same events a little later.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx

from .errors import DescentConnectionError
from .transport import StreamUnavailable, decode
from .types import Event, HistoryRow, Job

if TYPE_CHECKING:
    from .api import Client

OnEvent = Callable[[Event], None] | None
EMPTY_STREAMS_BEFORE_POLLING = 3
CONNECTION_FAILURES_ALLOWED = 5


def make_event(kind: str, event_id: str | None, data: str) -> Event:
    payload = decode(data)
    if kind == "status" and isinstance(payload, dict):
        return Event("status", event_id, job=Job.from_dict(payload))
    if kind == "epoch" and isinstance(payload, dict):
        return Event("epoch", event_id, row=HistoryRow.from_dict(payload))
    return Event(kind, event_id)


class _Deadline:
    def __init__(self, job_id: str, timeout: float | None) -> None:
        self.job_id = job_id
        self.timeout = timeout
        self.at = None if timeout is None else time.monotonic() + timeout

    def remaining(self, cap: float) -> float:
        if self.at is None:
            return cap
        left = self.at - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"job {self.job_id} did not finish within {self.timeout} s")
        return min(cap, left)


def wait(
    client: Client, job_id: str, on_event: OnEvent, timeout: float | None, interval: float
) -> Job:
    deadline = _Deadline(job_id, timeout)
    job = client.get_job(job_id)
    # Every epoch row from the first, also when attaching late: on_event sees the whole curve.
    if job.done:  # (as its event stream would: its epochs, then its final status)
        return _finish(client, job, on_event, 0)
    _emit(on_event, Event("status", None, job=job))
    last_id: str | None = None
    last_epoch, last_status = 0, job.status
    empty_streams = failures = 0
    while empty_streams < EMPTY_STREAMS_BEFORE_POLLING:
        seen = 0
        try:
            events = client.events(job_id, last_event_id=last_id,
                                   read_timeout=deadline.remaining(30.0))
            for event in events:
                seen += 1
                last_id = event.id if event.id is not None else last_id
                if event.kind == "epoch" and event.row is not None:
                    if event.row.epoch <= last_epoch:
                        continue  # already reported (before a reconnect)
                    last_epoch = event.row.epoch
                if event.kind == "status" and event.job is not None:
                    if event.job.status == last_status and not event.job.done:
                        continue  # no change (the stream opens with the current status)
                    last_status = event.job.status
                _emit(on_event, event)
                if event.kind == "status" and event.job is not None and event.job.done:
                    return event.job
                deadline.remaining(0.0)
        except StreamUnavailable:
            break
        except (httpx.ReadTimeout, httpx.RemoteProtocolError):
            pass  # a quiet or dropped stream: reconnect
        except DescentConnectionError:
            failures += 1
            if failures > CONNECTION_FAILURES_ALLOWED:
                raise
            time.sleep(deadline.remaining(min(2.0**failures * 0.1, 5.0)))
        empty_streams = 0 if seen else empty_streams + 1
        job = client.get_job(job_id)
        if job.done:  # it ended while the stream was down: the epochs since, then its end
            return _finish(client, job, on_event, last_epoch)
        if not seen:
            time.sleep(deadline.remaining(interval))
    return _poll(client, job_id, on_event, deadline, interval, last_epoch, last_status)


def _poll(
    client: Client, job_id: str, on_event: OnEvent, deadline: _Deadline, interval: float,
    last_epoch: int, status: str | None,
) -> Job:
    while True:
        job = client.get_job(job_id)
        for row in client.history(job_id, after=last_epoch):
            if row.epoch > last_epoch:
                last_epoch = row.epoch
                _emit(on_event, Event("epoch", None, row=row))
        if job.status != status:
            status = job.status
            _emit(on_event, Event("status", None, job=job))
        if job.done:
            return job
        time.sleep(deadline.remaining(interval))


def _finish(client: Client, job: Job, on_event: OnEvent, last_epoch: int) -> Job:
    """A finished job's epoch rows after ``last_epoch``, then its final status (all its rows
    are written before it is marked done, so its history is complete)."""
    for row in client.history(job.id, after=last_epoch):
        if row.epoch > last_epoch:
            last_epoch = row.epoch
            _emit(on_event, Event("epoch", None, row=row))
    _emit(on_event, Event("status", None, job=job))
    return job


def _emit(on_event: OnEvent, event: Event) -> None:
    if on_event is not None:
        on_event(event)

