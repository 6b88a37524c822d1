"""uvicorn's HTTP/1.1 protocol with the two timeouts it lacks: a request head, and a body's pauses.

uvicorn (h11 and httptools alike) times out only idle keep-alive connections, and only after a
first response: its timer is armed in ``on_response_complete`` and cancelled by every byte
received. A client that connects and sends nothing, sends its head a byte at a time, or stops in
the middle of a body holds its connection — and, in a body, a request task — for ever (the
"slowloris" attack; uvicorn's own issue #157 lists ``--timeout-request-start`` as not done).
`timed_protocol` adds, per connection:

- a head deadline: from the moment a connection is made, or the first byte of a later request
  arrives, the whole head must arrive within ``header_seconds``; more bytes do not reset it
  (between requests, uvicorn's keep-alive timeout closes an idle connection, as before);
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
    # "head", "body", "rest" (body left after the response), "idle" (between requests: uvicorn's
    # keep-alive timeout applies) or "" (the app has the whole request).
    _phase: str = ""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch(received=True)  # a new connection must send a head, like a first byte

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch(received=True)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    def handle_websocket_upgrade(self, event: Any) -> None:
        self._set("")  # the connection is another protocol's from now on
        super().handle_websocket_upgrade(event)

    def connection_lost(self, exc: Exception | None) -> None:
        self._set("")
        super().connection_lost(exc)

    def _watch(self, *, received: bool = False) -> None:
        """Arm the timer that fits what the server is waiting for now."""
        if self.transport is None or self.transport.is_closing():
            self._set("")
        elif self.conn.their_state is h11.IDLE:
            if self._phase == "head":
                pass  # a deadline: more bytes of the head do not reset it
            elif received:
                self._set("head", self.header_seconds)
            else:
                self._set("idle")
        elif self.conn.their_state is h11.SEND_BODY:
            answered = self.cycle is not None and self.cycle.response_complete
            if answered and self._phase != "rest":
                self._set("rest", self.body_seconds)  # a deadline for the unread rest
            elif not answered and (received or self._phase != "body"):
                self._set("body", self.body_seconds)  # a timeout between reads
        else:
            self._set("")  # the request is in: the app has it

    def _set(self, phase: str, seconds: float | None = None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._phase = phase
        if seconds is not None:
            self._timer = self.loop.call_later(seconds, self._expire)

    def _expire(self) -> None:
        self._timer = None
        if self._phase == "body" and self._app_not_reading():
            self._set("body", self.body_seconds)  # not the client's fault: wait for the app
            return
        self._phase = ""
        if not self.transport.is_closing():
            self.transport.close()

    def _app_not_reading(self) -> bool:
        """Flow control has paused the socket, or the client waits for ``100 Continue``."""
        waiting = self.cycle is not None and self.cycle.waiting_for_100_continue
        return waiting or (self.flow is not None and self.flow.read_paused)


def timed_protocol(*, header_seconds: float, body_seconds: float) -> type[TimedH11Protocol]:
    """A `TimedH11Protocol` class with these timeouts, for ``uvicorn.Config(http=…)``."""
    return type(
        "TimedH11Protocol", (TimedH11Protocol,),
        {"header_seconds": header_seconds, "body_seconds": body_seconds},
    )
