"""``/v1/models``: list, get, weights, predict (the hot path) and batch predictions."""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from starlette.status import HTTP_202_ACCEPTED

from service import fastjson, inference, tables
from service.auth import authenticate
from service.db import Database
from service.deps import (
    CallerDep,
    CursorQuery,
    DbDep,
    LimitQuery,
    SettingsDep,
    bearer_scheme,
    request_caller,
)
from service.errors import BadRequest, InvalidInput, UnsupportedMediaType, field_error
from service.problems import problem_responses
from service.repository import datasets as dataset_store
from service.repository import jobs as job_store
from service.repository import models as store
from service.schemas import (
    BatchPredictCreate,
    JobPublic,
    ModelPublic,
    Page,
    PredictCreate,
    PredictPublic,
)
from service.schemas.common import DEFAULT_LIMIT

router = APIRouter(prefix="/v1/models", tags=["models"])

JSON_MEDIA = "application/json"
BINARY = {"type": "string", "format": "binary"}
INLINE_BODY_BYTES = 8 * 1024  # predict bodies this small run on the event loop (SQLite)


@router.get("", response_model=Page[ModelPublic], responses=problem_responses(401, 422))
def list_models(
    caller: CallerDep, db: DbDep, limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None
) -> Page[ModelPublic]:
    rows, next_cursor = store.list_models(
        db, tenant_id=caller.tenant_id, limit=limit, cursor=cursor
    )
    return Page[ModelPublic](data=[ModelPublic.of(r) for r in rows], next=next_cursor)


@router.get("/{model_id}", response_model=ModelPublic, responses=problem_responses(401, 404, 422))
def get_model(model_id: str, caller: CallerDep, db: DbDep) -> ModelPublic:
    return ModelPublic.of(store.read_model(db, tenant_id=caller.tenant_id, model_id=model_id))


@router.get(
    "/{model_id}/weights",
    response_class=Response,
    responses={
        200: {
            "description": "An .npz: W0, b0, W1, b1, … (and mean/scale when standardized)",
            "content": {"application/octet-stream": {"schema": BINARY}},
        },
        **problem_responses(401, 404, 422),
    },
)
def get_weights(model_id: str, caller: CallerDep, db: DbDep) -> Response:
    row = store.read_model(db, tenant_id=caller.tenant_id, model_id=model_id, with_weights=True)
    return Response(
        row.weights,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{row.id}.npz"',
            "X-Weights-SHA256": row.weights_sha256,
        },
    )


# --- predict: one thread hop for auth + model + math, no pydantic on the way in or out -------


def _predict_body(body: bytes, content_type: str) -> tuple[Any, bool]:
    media = content_type.split(";")[0].strip().lower()
    if media and media != JSON_MEDIA and not media.endswith("+json"):
        raise UnsupportedMediaType(f"Send the inputs as {JSON_MEDIA}, not {media}.")
    try:
        document = fastjson.loads(body)
    except ValueError as exc:
        raise BadRequest(f"The body is not valid JSON: {exc}.") from exc
    if not isinstance(document, dict) or "inputs" not in document:
        raise InvalidInput(
            "The body must be an object with `inputs`: a list of rows of numbers.",
            errors=[field_error(["body", "inputs"], "Field required")],
        )
    store_it = document.get("store", False)
    if not isinstance(store_it, bool):
        raise InvalidInput(
            "`store` must be true or false.",
            errors=[field_error(["body", "store"], "Input should be a valid boolean")],
        )
    return document["inputs"], store_it


def _cached_model(
    request: Request, db: Database, tenant_id: str, model_id: str
) -> inference.LoadedModel:
    """From the bounded in-process cache (weights are read from the DB once per model)."""
    cache: inference.ModelCache = request.app.state.model_cache

    def load() -> tables.Model | None:
        return store.find_model(db, tenant_id=tenant_id, model_id=model_id, with_weights=True)

    return cache.get(model_id, load, tenant_id=tenant_id)


def _to_list(value: Any) -> Any:
    return value.tolist() if isinstance(value, np.ndarray) else value


def _predict(request: Request, model_id: str, body: bytes) -> Response:
    db: Database = request.app.state.db
    caller = request_caller(request) or authenticate(db, request.headers.get("authorization"))
    inputs, store_it = _predict_body(body, request.headers.get("content-type", ""))
    loaded = _cached_model(request, db, caller.tenant_id, model_id)
    X = inference.validate_inputs(loaded, inputs)
    predictions, probabilities = inference.predict(loaded, X)
    predictions, probabilities = _to_list(predictions), _to_list(probabilities)
    prediction_id = None
    if store_it:
        prediction_id = store.store_prediction(
            db, tenant_id=caller.tenant_id, model_id=model_id, predictions=predictions,
            probabilities=probabilities,
        )
    payload = {
        "predictions": predictions, "probabilities": probabilities,
        "prediction_id": prediction_id,
    }
    return Response(fastjson.dumps(payload), media_type=JSON_MEDIA)


@router.post(
    "/{model_id}/predict",
    response_model=PredictPublic,
    dependencies=[Depends(bearer_scheme)],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {JSON_MEDIA: {"schema": PredictCreate.model_json_schema()}},
        }
    },
    responses=problem_responses(400, 401, 404, 413, 415, 422),
    summary="Predict rows with a model (optionally storing the result)",
)
async def predict(model_id: str, request: Request) -> Response:
    body = await request.body()
    db: Database = request.app.state.db
    cached = model_id in request.app.state.model_cache
    writes = b'"store"' in body  # storing writes to the database: never on the event loop
    if db.is_sqlite and cached and len(body) <= INLINE_BODY_BYTES and not writes:
        # A few rows on a cached model take ~0.1 ms, about what the hop to a worker thread
        # and back costs: answer on the event loop. (SQLite: the guard has found the key
        # already, with a local read; PostgreSQL keeps the hop, as before.)
        return _predict(request, model_id, body)
    return await run_in_threadpool(_predict, request, model_id, body)


@router.post(
    "/{model_id}/batch-predictions",
    status_code=HTTP_202_ACCEPTED,
    response_model=JobPublic,
    responses=problem_responses(400, 401, 404, 422, 429),
    summary="Predict a whole stored dataset in the background (a predict job)",
)
def batch_predict(
    model_id: str, body: BatchPredictCreate, caller: CallerDep, db: DbDep, settings: SettingsDep
) -> JobPublic:
    with db.read() as session:
        model = store.get_model(session, tenant_id=caller.tenant_id, model_id=model_id)
        dataset = dataset_store.get_dataset(
            session, tenant_id=caller.tenant_id, dataset_id=body.dataset_id
        )
    if dataset.n_features != model.n_features:
        msg = (
            f"dataset {dataset.id} has {dataset.n_features} features; model {model.id} expects "
            f"{model.n_features}"
        )
        raise InvalidInput(msg, errors=[field_error(["body", "dataset_id"], msg)])
    job, _ = job_store.submit(
        db, settings=settings, tenant_id=caller.tenant_id, kind="predict",
        dataset_id=dataset.id, model_id=model.id, spec={"model_id": model.id},
        max_attempts=3,
    )
    return JobPublic.of(job)
