"""The FastAPI application: routes, problem+json errors, request ids, latency metrics and the guard
(`service.guard`: the API key and a body cap before any `/v1` work)."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import artifact_store, inference, problems
from service.db import Database, connect
from service.event_hub import EventHub
from service.guard import Guard
from service.logging import log_context
from service.metrics import Metrics
from service.routes import router
from service.settings import Settings, get_settings
from service.version import VERSION

log = logging.getLogger("service.app")

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class RequestContext:
    """Pure ASGI (streaming-safe): an ``X-Request-ID`` on every response, latency by route,
    and the last word on unexpected errors — logged with the request id, answered 500 as a
    problem without internals."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                MutableHeaders(scope=message).append("X-Request-ID", request_id)
            await send(message)

        try:
            with log_context(request_id=request_id):
                await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception(
                "unhandled error in %s %s", scope["method"], scope["path"],
                extra={"request_id": request_id},
            )
            if not response_started:
                response = problems.problem_response(
                    500,
                    f"Something went wrong on our side; quote request id {request_id} "
                    "when you report it.",
                    title="Internal server error", headers={"X-Request-ID": request_id},
                    request_id=request_id,
                )
                await response(scope, receive, send)
            status = 500
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.observe(scope["method"], template, status, time.perf_counter() - started)


def create_app(*, db: Database | None = None, settings: Settings | None = None) -> FastAPI:
    """The app over ``db`` (or a connection to ``settings.database_url``, closed at shutdown)."""
    settings = settings or get_settings()
    owned = db is None
    database = db if db is not None else connect(settings.database_url)

    # SQLite: the guard's key lookups run on the event loop, on connections of their own.
    keys_db = connect(database.url) if database.is_sqlite else database

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if keys_db is not database:
            keys_db.dispose()
        if owned:
            database.dispose()

    app = FastAPI(
        title="Descent",
        version=VERSION,
        summary="Training-as-a-service for dense neural networks",
        lifespan=lifespan,
        # /docs is served by service.apidocs from vendored files (FastAPI's loads a CDN); no
        # /redoc, which has no offline copy.
        docs_url=None,
        redoc_url=None,
    )
    app.state.db = database
    # SQLite: the reads that run on the event loop (keys; a job by id) use connections of their
    # own; PostgreSQL: the one database, from worker threads only.
    app.state.loop_db = keys_db
    app.state.settings = settings
    artifact_store.configure(database.url, settings.artifact_store)
    app.state.model_cache = inference.ModelCache(settings.predict_cache_size)
    app.state.events_poll_seconds = 0.5
    app.state.event_hub = EventHub(
        database, max_streams=settings.max_streams,
        max_streams_per_key=settings.max_streams_per_key,
    )
    app.state.metrics = Metrics(database)
    problems.install(app)
    app.include_router(router)
    # The last added runs first: request ids and metrics, then the key and the body cap.
    app.add_middleware(Guard, keys_db=keys_db, settings=settings, routes=app.routes)
    app.add_middleware(RequestContext, metrics=app.state.metrics)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            app.openapi_schema = problems.move_problems_to_problem_json(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
