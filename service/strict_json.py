"""JSON bodies read strictly, and off the event loop when they are large.

`StrictJsonRoute` is the route class of the job routes. Before FastAPI sees the body, it parses
it refusing duplicate keys (``{"epochs": 1, "epochs": 5000}``: which one would the user mean?)
with a 400 naming the key, and validates it against the route's body model — both in a worker
thread once the body is over ``INLINE_BODY_BYTES``, one such body at a time per process. A 1 MiB
spec takes ~35 ms to parse and ~100 ms to validate; pydantic holds the GIL while it validates, so
a thread alone does not spare the event loop: one at a time bounds the stall to one validation
however many arrive together (small bodies are not queued behind them). Invalid bodies get exactly
the errors FastAPI gives (the same 400 for malformed JSON, the same 422 ``loc``s), because the
validation is FastAPI's own; a valid one reaches FastAPI already validated, so it is not done
twice. Routes without a JSON body, and bodies that are not JSON, are left to FastAPI.
"""

from __future__ import annotations

import asyncio
import email.message
import json
import weakref
from collections.abc import Callable, Coroutine
from typing import Any

import anyio
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from service.errors import BadRequest

INLINE_BODY_BYTES = 8 * 1024  # parsed and validated in well under a millisecond
_UNSET: Any = object()
_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)


def _one_at_a_time() -> anyio.CapacityLimiter:
    """This event loop's limiter for large bodies (one loop per process, but tests run many)."""
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = anyio.CapacityLimiter(1)
    return limiter


class DuplicateKey(BadRequest):
    def __init__(self, key: str) -> None:
        super().__init__(
            f"The JSON body has the key {key!r} more than once; send each key once.",
            errors=[{"loc": ["body"], "msg": f"duplicate key {key!r}"}],
        )


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise DuplicateKey(key)
        document[key] = value
    return document


def loads_strict(body: bytes) -> Any:
    """``json.loads`` that refuses duplicate keys (`DuplicateKey`, a 400)."""
    return json.loads(body, object_pairs_hook=_refuse_duplicates)


def is_json(content_type: str | None) -> bool:
    """The media types FastAPI parses as JSON (``application/json``, ``application/*+json``)."""
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


class _ValidatedRequest(Request):
    """Hands FastAPI the body already parsed and validated."""

    validated: Any = _UNSET

    async def json(self) -> Any:
        if self.validated is _UNSET:
            return await super().json()
        return self.validated


class StrictJsonRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        if self.body_field is None:
            return handle
        body_field = self.body_field

        def parse(body: bytes) -> Any:
            try:
                document = loads_strict(body)
            except json.JSONDecodeError as exc:  # as FastAPI words it
                raise RequestValidationError([{
                    "type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error",
                    "input": {}, "ctx": {"error": exc.msg},
                }], body=exc.doc) from None
            except RecursionError:
                raise BadRequest("The JSON body is nested too deeply.") from None
            value, errors = body_field.validate(document, {}, loc=("body",))
            if errors:
                raise RequestValidationError(errors, body=document)
            return value

        async def strict_handler(request: Request) -> Response:
            request = _ValidatedRequest(request.scope, request.receive)
            if is_json(request.headers.get("content-type")):
                body = await request.body()
                if len(body) > INLINE_BODY_BYTES:
                    request.validated = await anyio.to_thread.run_sync(
                        parse, body, limiter=_one_at_a_time()
                    )
                elif body:
                    request.validated = parse(body)
            return await handle(request)

        return strict_handler
