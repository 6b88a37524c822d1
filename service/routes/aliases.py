"""``/v1/models/aliases``: a tenant's names for its models (set or move, get, list, delete), and
``POST /v1/models/by-alias/{alias}/predict``, which answers as the aliased model's predict.

Included by ``routes.models`` (under its ``/v1/models`` prefix) before its own routes, which
come before ``routes.predict``'s: ``/v1/models/{model_id}…`` would otherwise take ``aliases`` and
``by-alias`` for model ids.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from starlette.status import HTTP_204_NO_CONTENT

from service.auth import authenticate
from service.db import Database
from service.deps import CallerDep, DbDep, bearer_scheme, request_caller
from service.inference import arrow, npy
from service.problems import problem_responses
from service.repository import aliases as store
from service.routes.predict import BINARY, JSON_MEDIA, PREDICT_ANSWERS, answer_predict
from service.schemas import PredictCreate, PredictPublic
from service.schemas.aliases import AliasesPublic, AliasPublic, AliasSet

router = APIRouter(tags=["models"])  # paths under routes.models' /v1/models


@router.get("/aliases", response_model=AliasesPublic, responses=problem_responses(401, 422),
            summary="The tenant's model aliases, by name")
def list_aliases(caller: CallerDep, db: DbDep, model_id: str | None = None) -> AliasesPublic:
    rows = store.list_aliases(db, tenant_id=caller.tenant_id, model_id=model_id)
    return AliasesPublic(data=[AliasPublic.of(r) for r in rows])


@router.get("/aliases/{alias}", response_model=AliasPublic,
            responses=problem_responses(401, 404))
def get_alias(alias: str, caller: CallerDep, db: DbDep) -> AliasPublic:
    return AliasPublic.of(store.read_alias(db, tenant_id=caller.tenant_id, alias=alias))


@router.put(
    "/aliases/{alias}", response_model=AliasPublic,
    responses={201: {"model": AliasPublic, "description": "The alias was created"},
               **problem_responses(400, 401, 404, 409, 422)},
    summary="Point an alias at a model (create it, or move it atomically)",
)
def put_alias(alias: str, body: AliasSet, response: Response, caller: CallerDep,
              db: DbDep) -> AliasPublic:
    store.check_alias(alias)
    row, created = store.set_alias(db, tenant_id=caller.tenant_id, alias=alias,
                                   model_id=body.model_id)
    response.status_code = 201 if created else 200
    return AliasPublic.of(row)


@router.delete("/aliases/{alias}", status_code=HTTP_204_NO_CONTENT,
               response_class=Response, responses=problem_responses(401, 404))
def delete_alias(alias: str, caller: CallerDep, db: DbDep) -> Response:
    store.delete_alias(db, tenant_id=caller.tenant_id, alias=alias)
    return Response(status_code=HTTP_204_NO_CONTENT)


@router.post(
    "/by-alias/{alias}/predict",
    response_model=PredictPublic,
    dependencies=[Depends(bearer_scheme)],
    openapi_extra={"requestBody": {
        "required": True, "content": {JSON_MEDIA: {"schema": PredictCreate.model_json_schema()},
                                      npy.MEDIA: BINARY, arrow.MEDIA: BINARY},
    }},
    responses={200: PREDICT_ANSWERS, **problem_responses(400, 401, 404, 413, 415, 422)},
    summary="Predict with the model an alias names (the answer's X-Model-ID says which)",
)
async def predict_by_alias(
    alias: str, request: Request,
    store_it: Annotated[bool, Query(alias="store", description=(
        "Keep the result as a prediction resource (binary bodies; a JSON body may say "
        "`\"store\": true` instead)"))] = False,
) -> Response:
    db: Database = request.app.state.db
    caller = request_caller(request) or authenticate(db, request.headers.get("authorization"))
    # The alias is read on every request (one indexed row), so a move is followed at once by
    # every API process; the model itself comes from the predict cache, by id. On SQLite a local
    # read costs less than a hop to a worker thread (as predict's own reads).
    if db.is_sqlite:
        model_id = store.resolve(db, tenant_id=caller.tenant_id, alias=alias)
    else:
        model_id = await run_in_threadpool(store.resolve, db, tenant_id=caller.tenant_id,
                                           alias=alias)
    response = await answer_predict(request, model_id, store_it=store_it)
    response.headers["X-Model-ID"] = model_id
    return response
