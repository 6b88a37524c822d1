"""The door of every ``/v1`` request: the API key first, then a cap on the body, before any work.

FastAPI reads and parses a body before any dependency runs, so a key checked in a dependency let
anyone without one make the server read and parse 100 MB on its event loop. This pure ASGI
middleware runs first:

- no key, or one that is not valid → 401 (``WWW-Authenticate: Bearer``) without reading a byte;
- a ``Content-Length`` over the route's cap → 413 before reading; a body sent without one
  (chunked) is counted while it is read, and reading stops at the cap with the same 413, whatever
  the route was doing with it (FastAPI would have answered a generic 400);
- the caller goes in ``scope["state"]["caller"]``, where `service.deps.CallerDep` and predict
  find it. Keys found are remembered (`service.key_cache`): a request with a known key makes no
  query, and a revoked key is refused by every process within a second.

Caps: ``POST /v1/datasets`` ``DESCENT_MAX_UPLOAD_BYTES``; ``POST /v1/models/{id}/predict``
``DESCENT_MAX_PREDICT_BYTES``; every other ``/v1`` body ``DESCENT_MAX_JSON_BODY_BYTES``.
Refusals close the connection once answered, so an unread body is never drained.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import anyio
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import problems
from service.auth import Caller, authenticate, bearer_token, hash_key
from service.db import Database
from service.errors import DescentError, PayloadTooLarge
from service.key_cache import KeyCache
from service.settings import Settings

_PREDICT = re.compile(r"^/v1/models/(?:by-alias/)?[^/]+/predict$")  # by id or by alias
_UPLOAD_PART = re.compile(r"^/v1/uploads/[^/]+$")


def _header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of header ``name`` (lower case), as Starlette reads it."""
    return next((value for key, value in scope["headers"] if key == name), None)


def is_guarded(path: str) -> bool:
    return path == "/v1" or path.startswith("/v1/")


def body_cap(settings: Settings, method: str, path: str) -> tuple[int, str]:
    """``(bytes, setting)``: the largest body this request may send."""
    if method == "POST" and path == "/v1/datasets":
        return settings.max_upload_bytes, "DESCENT_MAX_UPLOAD_BYTES"
    if method == "PUT" and _UPLOAD_PART.match(path):  # a part of a chunked upload
        return settings.max_upload_bytes, "DESCENT_MAX_UPLOAD_BYTES"
    if method == "POST" and _PREDICT.match(path):
        return settings.max_predict_bytes, "DESCENT_MAX_PREDICT_BYTES"
    return settings.max_json_body_bytes, "DESCENT_MAX_JSON_BODY_BYTES"


class BodyTooLarge(PayloadTooLarge):
    def __init__(self, cap: int, setting: str) -> None:
        super().__init__(
            f"The body is over the limit of {cap:,} bytes for this request ({setting})."
        )


class Guard:
    """Pure ASGI (streaming-safe), inside `service.app.RequestContext` so refusals carry the
    request id and are counted in the latency metrics under their route."""

    def __init__(
        self, app: ASGIApp, *, keys_db: Database, settings: Settings,
        routes: Sequence[BaseRoute],
    ) -> None:
        """``keys_db``: on SQLite, a `Database` of its own, used only from the event loop (so
        a key lookup never waits for a pooled connection the worker threads hold)."""
        self.app = app
        self.db = keys_db
        self.settings = settings
        self.routes = routes
        self.keys = KeyCache()
        self._refreshing = anyio.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_guarded(scope["path"]):
            await self.app(scope, receive, send)
            return
        try:
            caller = await self._authenticate(_header(scope, b"authorization"))
        except DescentError as exc:
            await self._refuse(scope, receive, send, exc)
            return
        scope.setdefault("state", {})["caller"] = caller
        cap, setting = body_cap(self.settings, scope["method"], scope["path"])
        declared = _header(scope, b"content-length") or b""
        if declared.isdigit() and int(declared) > cap:
            await self._refuse(scope, receive, send, BodyTooLarge(cap, setting))
            return
        await self._call_capped(scope, receive, send, cap, setting)

    async def _authenticate(self, authorization: bytes | None) -> Caller:
        header = None if authorization is None else authorization.decode("latin-1")
        digest = hash_key(bearer_token(header))  # no key at all: refused without a query
        if self.keys.due():
            async with self._refreshing:  # one check at a time; the others then find it done
                if self.keys.due():
                    await self._on_database(self.keys.refresh, self.db)
        caller = self.keys.get(digest)
        if caller is None:
            generation = self.keys.generation
            caller = await self._on_database(authenticate, self.db, header)
            self.keys.remember(digest, caller, generation)
        return caller

    async def _on_database(self, fn: Any, *args: Any) -> Any:
        if self.db.is_sqlite:
            # A local indexed read (~40 µs; WAL readers never wait for a writer) on a pool only
            # this thread uses: a worker thread would cost more than it saves.
            return fn(*args)
        # PostgreSQL: a network round trip, never on the event loop.
        return await anyio.to_thread.run_sync(fn, *args)

    async def _call_capped(
        self, scope: Scope, receive: Receive, send: Send, cap: int, setting: str
    ) -> None:
        received = 0
        too_large = False
        started = False

        async def capped_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    too_large = True
                    raise BodyTooLarge(cap, setting)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if too_large and not started:
                return  # the app's answer to the interrupted read; ours follows
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, capped_receive, guarded_send)
        except Exception:
            if not too_large or started:
                raise
        if too_large and not started:
            await self._refuse(scope, receive, send, BodyTooLarge(cap, setting))

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, exc: DescentError) -> None:
        self._label_route(scope)
        state: dict[str, Any] = scope.get("state", {})
        response = problems.problem_response(
            exc.status, exc.detail, title=exc.title, type_=exc.type, errors=exc.errors,
            headers={**exc.headers, "Connection": "close"}, request_id=state.get("request_id"),
        )
        await response(scope, receive, send)

    def _label_route(self, scope: Scope) -> None:
        """Put the matching route in the scope, as routing would have, for the metrics label."""
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                scope["route"] = route
                return
