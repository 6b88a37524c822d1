"""uvicorn's HTTP/1.1 protocol with the two timeouts it lacks: a request head, and a body's pauses.

uvicorn (h11 and httptools alike) times out only idle keep-alive connections, and only after a
first response: its timer is armed in ``on_response_complete`` and cancelled by every byte
received. A client that connects and sends nothing, sends its head a byte at a time, or stops in
the middle of a body holds its connection — and, in a body, a request task — for ever (the
"slowloris" attack; uvicorn's own issue #157 lists ``--timeout-request-start`` as not done).
`timed_protocol` adds, per connection:

- a head deadline: from the moment the server waits for a request (connection made, or previous
  response sent) its whole head must arrive within ``header_seconds``; bytes do not reset it;
- a body timeout: while a request body is being received, no pause between two reads may last
  ``body_seconds`` — unless the app itself is not reading (flow control has paused the socket),
  which is no fault of the client's. After the response, what is left of an unread body must
  come within one more ``body_seconds``.

When a timer fires the connection is closed (no response: the client has not finished asking).
Heads are also bounded in size by h11 (``MAX_HEAD_BYTES``: beyond, uvicorn answers 400).
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

MAX_HEAD_BYTES = 16 * 1024  # request line + headers; h11's own default, made explicit


class TimedH11Protocol(H11Protocol):
    header_seconds = 10.0
    body_seconds = 30.0

    _timer: asyncio.TimerHandle | None = None
    _phase: str = ""  # "head", "body", "rest" (body left after the response) or ""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch(received=True)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    def handle_websocket_upgrade(self, event: Any) -> None:
        self._set("", 0)  # the connection is another protocol's from now on
        super().handle_websocket_upgrade(event)

    def connection_lost(self, exc: Exception | None) -> None:
        self._set("", 0)
        super().connection_lost(exc)

    def _watch(self, *, received: bool = False) -> None:
        """Arm the timer that fits what the server is waiting for now."""
        if self.transport is None or self.transport.is_closing():
            self._set("", 0)
        elif self.conn.their_state is h11.IDLE:
            if self._phase != "head":  # a deadline: bytes of a head do not reset it
                self._set("head", self.header_seconds)
        elif self.conn.their_state is h11.SEND_BODY:
            answered = self.cycle is not None and self.cycle.response_complete
            if answered and self._phase != "rest":
                self._set("rest", self.body_seconds)  # a deadline for the unread rest
            elif not answered and (received or self._phase != "body"):
                self._set("body", self.body_seconds)  # a timeout between reads
        else:
            self._set("", 0)  # the request is in: the app has it

    def _set(self, phase: str, seconds: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._phase = phase
        if phase:
            self._timer = self.loop.call_later(seconds, self._expire)

    def _expire(self) -> None:
        self._timer = None
        if self._phase == "body" and self.flow is not None and self.flow.read_paused:
            self._set("body", self.body_seconds)  # the app is not reading: wait for it
            return
        self._phase = ""
        if not self.transport.is_closing():
            self.transport.close()


def timed_protocol(*, header_seconds: float, body_seconds: float) -> type[TimedH11Protocol]:
    """A `TimedH11Protocol` class with these timeouts, for ``uvicorn.Config(http=…)``."""
    return type(
        "TimedH11Protocol", (TimedH11Protocol,),
        {"header_seconds": header_seconds, "body_seconds": body_seconds},
    )
