"""Request dependencies as ``Annotated`` aliases: the database, settings, caller, paging."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.auth import Caller, authenticate
from service.db import Database
from service.errors import Unauthorized
from service.schemas.common import MAX_LIMIT
from service.settings import Settings

# Documents the scheme in OpenAPI; the key itself is checked in `get_caller`.
bearer_scheme = HTTPBearer(auto_error=False, description="An API key: `descent keys create`")


# async: FastAPI runs a plain `def` dependency in a worker thread, a hop per request for an
# attribute read.
async def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


DbDep = Annotated[Database, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def request_caller(request: Request) -> Caller | None:
    """The caller `service.guard.Guard` authenticated for this request, if it did."""
    caller = request.scope.get("state", {}).get("caller")
    return caller if isinstance(caller, Caller) else None


async def get_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Caller:
    """The tenant behind the request's API key: found by the guard before the body was read
    (one indexed lookup per request, nothing cached), or looked up here without it."""
    caller = request_caller(request)
    if caller is not None:
        return caller  # async: no worker-thread hop to hand it over
    if credentials is None:
        raise Unauthorized("Send your API key as `Authorization: Bearer <key>`.")
    return await run_in_threadpool(
        authenticate, request.app.state.db, f"Bearer {credentials.credentials}"
    )


CallerDep = Annotated[Caller, Depends(get_caller)]

LimitQuery = Annotated[
    int, Query(ge=1, le=MAX_LIMIT, description=f"Page size (max {MAX_LIMIT})")
]
CursorQuery = Annotated[
    str | None, Query(max_length=100, description="The `next` of the previous page")
]

