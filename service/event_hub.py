"""Every open event stream of a process served by one poller: one query per interval, not one each.

A stream (`service.events.job_stream`) is a `Watch`: its job, its key, how far it has got. The
`EventHub` counts watches against ``DESCENT_MAX_STREAMS_PER_KEY`` and ``DESCENT_MAX_STREAMS``
(429 with ``Retry-After`` beyond), and one poller task per event loop reads, in one worker-thread
hop per interval, the state of every watched job, the job object where a stream needs a status
event, and the new epoch rows — then wakes each stream with its `Update`. Every
``KEY_RECHECK_SECONDS`` it also reads back the watched keys: a stream whose key was revoked (or
whose job is gone) gets ``None`` and ends.

Before this, each stream hopped to a worker thread every poll: 300 streams took the thread pool
and made every other request of every tenant wait.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter
from typing import Any

import anyio

from service.auth import Caller
from service.db import Database
from service.errors import TooManyRequests
from service.events import PollRead, Update, read_jobs

log = logging.getLogger(__name__)

KEY_RECHECK_SECONDS = 2.0
RETRY_AFTER_SECONDS = 10


class Watch:
    """One open stream. ``epoch`` and ``signature`` are what it has sent so far."""

    def __init__(
        self, hub: EventHub, caller: Caller, job_id: str, *, epoch: int,
        signature: str | None, poll_seconds: float,
    ) -> None:
        self.hub, self.caller, self.job_id = hub, caller, job_id
        self.epoch, self.signature, self.poll_seconds = epoch, signature, poll_seconds
        self.update: Update | None = None
        self.ended = False
        self.closed = False
        self._ready: asyncio.Event | None = None

    async def next(self) -> Update | None:
        """The next update of the job, or ``None`` once the stream must end."""
        if self._ready is None:
            self._ready = asyncio.Event()
            self.hub._attach(self)
        await self._ready.wait()
        self._ready.clear()
        return None if self.ended else self.update

    def deliver(self, update: Update | None) -> None:
        self.update, self.ended = update, update is None
        if self._ready is not None:
            self._ready.set()

    def close(self) -> None:
        """Give the slot back (idempotent; called when the response ends, however it ends)."""
        self.hub._release(self)


class EventHub:
    """The open streams of one API process, their caps, and their pollers (one per event loop:
    one in production; tests may run several apps or loops in one process)."""

    def __init__(self, db: Database, *, max_streams: int, max_streams_per_key: int) -> None:
        self.db = db
        self.max_streams = max_streams
        self.max_streams_per_key = max_streams_per_key
        self._lock = threading.Lock()
        self._open: set[Watch] = set()
        self._per_key: Counter[str] = Counter()
        self._pollers: dict[asyncio.AbstractEventLoop, _Poller] = {}

    def open(
        self, caller: Caller, job_id: str, *, epoch: int, signature: str | None,
        poll_seconds: float,
    ) -> Watch:
        """A slot for one more stream of ``caller``, or `TooManyRequests`."""
        with self._lock:
            if self._per_key[caller.key_id] >= self.max_streams_per_key:
                raise TooManyRequests(
                    f"This API key already has {self.max_streams_per_key} event streams open "
                    "(DESCENT_MAX_STREAMS_PER_KEY); close one, or poll the job and its history.",
                    retry_after=RETRY_AFTER_SECONDS,
                )
            if len(self._open) >= self.max_streams:
                raise TooManyRequests(
                    f"The server has {self.max_streams} event streams open (DESCENT_MAX_STREAMS);"
                    " retry later, or poll the job and its history.",
                    retry_after=RETRY_AFTER_SECONDS,
                )
            watch = Watch(self, caller, job_id, epoch=epoch, signature=signature,
                          poll_seconds=poll_seconds)
            self._open.add(watch)
            self._per_key[caller.key_id] += 1
        return watch

    @property
    def open_streams(self) -> int:
        return len(self._open)

    def _release(self, watch: Watch) -> None:
        with self._lock:
            if watch.closed:
                return
            watch.closed = True
            self._open.discard(watch)
            self._per_key[watch.caller.key_id] -= 1
            if self._per_key[watch.caller.key_id] <= 0:
                del self._per_key[watch.caller.key_id]
        for poller in list(self._pollers.values()):
            poller.discard(watch)

    def _attach(self, watch: Watch) -> None:
        """Called on the event loop of the stream's first `Watch.next`."""
        loop = asyncio.get_running_loop()
        poller = self._pollers.get(loop)
        if poller is None or poller.done:
            poller = self._pollers[loop] = _Poller(self, loop)
        poller.add(watch)

    def _forget(self, poller: _Poller) -> None:
        if self._pollers.get(poller.loop) is poller:
            del self._pollers[poller.loop]


class _Poller:
    """The task that polls for every watch of one event loop, and stops when none is left."""

    def __init__(self, hub: EventHub, loop: asyncio.AbstractEventLoop) -> None:
        self.hub, self.loop = hub, loop
        self.watches: set[Watch] = set()
        self.cache: dict[str, tuple[str, dict[str, Any]]] = {}  # job id → (signature, object)
        self.keys_checked = loop.time()
        self.wake = asyncio.Event()
        self.done = False
        self.task = loop.create_task(self.run(), name="descent-event-poller")

    def add(self, watch: Watch) -> None:
        self.watches.add(watch)
        self.wake.set()  # a new stream gets its first events now, not an interval later

    def discard(self, watch: Watch) -> None:
        if watch in self.watches:
            # From the loop thread only (Watch.close runs in the response, on the loop).
            self.watches.discard(watch)
            self.wake.set()

    async def run(self) -> None:
        try:
            while self.watches:
                self.wake.clear()
                await self.poll(list(self.watches))
                interval = min(w.poll_seconds for w in self.watches) if self.watches else 0
                try:
                    await asyncio.wait_for(self.wake.wait(), timeout=interval)
                except TimeoutError:
                    pass
        finally:
            self.done = True
            self.hub._forget(self)

    async def poll(self, watches: list[Watch]) -> None:
        cursors: dict[str, int] = {}
        wanted: dict[str, set[str | None]] = {}
        for w in watches:
            cursors[w.job_id] = min(cursors.get(w.job_id, w.epoch), w.epoch)
            wanted.setdefault(w.job_id, set()).add(w.signature)
        keys = None
        if self.loop.time() - self.keys_checked >= KEY_RECHECK_SECONDS:
            keys = {w.caller.key_id for w in watches}
            self.keys_checked = self.loop.time()
        cached = {job_id: sig for job_id, (sig, _) in self.cache.items() if job_id in cursors}
        try:
            read = await anyio.to_thread.run_sync(
                lambda: read_jobs(self.hub.db, cursors=cursors, wanted=wanted, cached=cached,
                                  keys=keys)
            )
        except Exception:
            # As when each stream polled for itself: the streams end, clients reconnect.
            log.exception("event streams: polling the database failed")
            for w in watches:
                w.deliver(None)
            return
        self.cache = {k: v for k, v in self.cache.items() if k in read.states}
        self.cache.update(read.jobs)
        for w in watches:
            w.deliver(self._update_for(w, read))

    def _update_for(self, watch: Watch, read: PollRead) -> Update | None:
        state = read.states.get(watch.job_id)
        if state is None or state[0] != watch.caller.tenant_id:
            return None  # the job is gone
        if read.live_keys is not None and watch.caller.key_id not in read.live_keys:
            return None  # the key was revoked: the stream ends (the reconnect gets 401)
        if watch.job_id not in self.cache:
            return None  # deleted between the two reads
        sig, job = self.cache[watch.job_id]
        return Update(status=state[1], signature=sig, job=job,
                      epochs=read.epochs.get(watch.job_id, []))
