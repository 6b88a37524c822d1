"""Every error answered as ``application/problem+json`` (RFC 9457).

Four sources, one shape: domain errors (`service.errors.DescentError`), request validation
(pydantic, via FastAPI's `RequestValidationError`), Starlette's own `HTTPException` (404 for an
unknown path, 405 for a wrong method) and — in `service.app`'s middleware — anything unexpected,
which is logged with the request id and answered 500 without internals.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from service.errors import DescentError

PROBLEM_MEDIA_TYPE = "application/problem+json"
# RFC 9457 §4.2.1: the problem means no more than its HTTP status (every Descent problem is of
# this kind: ``title`` summarises it, ``detail`` says what to do). A URI of a domain we do not
# own would invite clients to dereference it.
PROBLEM_TYPE = "about:blank"


class FieldError(BaseModel):
    loc: list[str | int] = Field(description="Where the problem is, e.g. body → network → …")
    msg: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = Field(
        default=PROBLEM_TYPE, examples=[PROBLEM_TYPE],
        description="Always about:blank: the HTTP status is the kind of problem (RFC 9457)",
    )
    title: str
    status: int
    detail: str
    errors: list[FieldError] = Field(default_factory=list)
    request_id: str | None = None


def problem_response(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    type_: str | None = None,
    errors: Sequence[dict[str, Any]] = (),
    headers: dict[str, str] | None = None,
    request_id: str | None = None,
) -> Response:
    title = title or HTTPStatus(status).phrase
    body = {
        "type": type_ or PROBLEM_TYPE,
        "title": title,
        "status": status,
        "detail": detail,
        "errors": [{"loc": list(e["loc"]), "msg": str(e["msg"])} for e in errors],
        "request_id": request_id,
    }
    return Response(
        json.dumps(body, default=str), status_code=status, headers=headers,
        media_type=PROBLEM_MEDIA_TYPE,
    )


def _request_id(request: Request) -> str | None:
    rid: str | None = request.scope.get("state", {}).get("request_id")
    return rid


def _loc_text(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:] or parts
    return ".".join(parts)


def validation_detail(errors: Sequence[dict[str, Any]]) -> str:
    """One sentence for the first error: ``network.hidden_layers.0.units: Input should be …``."""
    if not errors:
        return "The request is not valid."
    first = errors[0]
    loc = _loc_text(first.get("loc", ()))
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    return f"{loc}: {first.get('msg', 'invalid')}{more}" if loc else f"{first['msg']}{more}"


async def _on_descent_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DescentError)
    return problem_response(
        exc.status, exc.detail, title=exc.title, type_=exc.type, errors=exc.errors,
        headers=exc.headers, request_id=_request_id(request),
    )


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
    if any(e.get("type") == "json_invalid" for e in exc.errors()):
        return problem_response(
            400, "The body is not valid JSON: " + validation_detail(errors), title="Bad request",
            errors=errors, request_id=_request_id(request),
        )
    return problem_response(
        422, validation_detail(errors), title="Invalid input", errors=errors,
        request_id=_request_id(request),
    )


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"There is nothing at {request.url.path}."
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}."
    return problem_response(
        exc.status_code, detail, headers=dict(exc.headers or {}), request_id=_request_id(request)
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(DescentError, _on_descent_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` for the error statuses a route can answer."""
    return {
        s: {"model": Problem, "description": HTTPStatus(s).phrase} for s in statuses
    }


def move_problems_to_problem_json(schema: dict[str, Any]) -> dict[str, Any]:
    """Document error bodies under ``application/problem+json`` (FastAPI puts them under JSON)."""
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status[:1] in ("4", "5") and "application/json" in content:
                    content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")
    return schema
