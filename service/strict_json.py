"""JSON bodies read strictly, and off the event loop when they are large.

`StrictJsonRoute` is the route class of the job routes. Before FastAPI sees the body, it parses
it refusing duplicate keys (``{"epochs": 1, "epochs": 5000}``: which one would the user mean?)
with a 400 naming the key, and validates it against the route's body model — both in a worker
thread once the body is over ``INLINE_BODY_BYTES``, one such body at a time per process. A 1 MiB
spec takes ~35 ms to parse and ~100 ms to validate, and pydantic holds the GIL while it validates,
so a thread alone would not spare the event loop: long lists are validated item by item first
(`prevalidate_long_lists`), and one body at a time keeps a flood of large specs from taking every
core's share of the GIL (small bodies are not queued behind them). Invalid bodies get exactly
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
from typing import Any, get_args, get_origin

import anyio
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

from service.errors import BadRequest

INLINE_BODY_BYTES = 8 * 1024  # parsed and validated in well under a millisecond
LONG_LIST = 256  # items of a list validated one by one (`prevalidate_long_lists`) beyond this
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


def prevalidate_long_lists(model: Any, document: Any) -> None:
    """Replace, in place, each long list of objects in ``document`` that a field of ``model``
    (or of its nested models) types as ``list[SomeModel]`` by the validated models.

    Pydantic validates a whole body in one call that holds the GIL throughout (~100 ms for 30,000
    layers): the event loop could not run meanwhile, thread or not. Item by item, the GIL changes
    hands between items; the full validation then takes the models as they are (pydantic does
    not validate an instance twice), so the result is the same. A list with an invalid item is
    left as it was, for the full validation to report it with FastAPI's own ``loc``.
    """
    if not (isinstance(document, dict) and isinstance(model, type)
            and issubclass(model, BaseModel)):
        return
    for name, field in model.model_fields.items():
        key = field.alias or name
        value, annotation = document.get(key), field.annotation
        if isinstance(value, dict):
            prevalidate_long_lists(annotation, value)
        elif isinstance(value, list) and len(value) > LONG_LIST and get_origin(annotation) is list:
            (item_type,) = get_args(annotation) or (None,)
            if isinstance(item_type, type) and issubclass(item_type, BaseModel):
                try:
                    document[key] = [item_type.model_validate(item) for item in value]
                except ValidationError:
                    pass


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
            except ValueError as exc:  # not UTF-8 (nor UTF-16/32) text
                raise BadRequest(f"The body is not valid JSON: {exc}.") from None
            if len(body) > INLINE_BODY_BYTES:
                prevalidate_long_lists(body_field.field_info.annotation, document)
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
