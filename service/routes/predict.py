"""``POST /v1/models/{id}/predict``, the hot path: no pydantic on the way in or out, at most one
thread hop for the key, the model and the arithmetic.

Small work answers on the event loop: on SQLite, for a cached model, a body of a few KB, and rows
× parameters within ``INLINE_MULTIPLY_ADDS`` (about a millisecond of arithmetic) — the hop to a
worker thread and back would cost as much (the guard has found the key already, with a local
read). Anything larger, any write (``store``) and every request on PostgreSQL run in a worker
thread. Rows and
rows × the widest layer are bounded by settings (422 beyond).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from service import fastjson, inference
from service.auth import Caller, authenticate
from service.db import Database
from service.deps import bearer_scheme, request_caller
from service.errors import BadRequest, InvalidInput, UnsupportedMediaType, field_error
from service.problems import problem_responses
from service.repository import predictions as store
from service.schemas import PredictCreate, PredictPublic
from service.settings import Settings
from worker.pipeline import Table

router = APIRouter(prefix="/v1/models", tags=["models"])

JSON_MEDIA = "application/json"
INLINE_BODY_BYTES = 8 * 1024
INLINE_MULTIPLY_ADDS = 1_000_000


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
            "The body must be an object with `inputs`: a list of rows of numbers, or of "
            "records {column: value}.",
            errors=[field_error(["body", "inputs"], "Field required")],
        )
    store_it = document.get("store", False)
    if not isinstance(store_it, bool):
        raise InvalidInput(
            "`store` must be true or false.",
            errors=[field_error(["body", "store"], "Input should be a valid boolean")],
        )
    return document["inputs"], store_it


Prepared = tuple[Caller, inference.LoadedModel, Any, bool, list[str] | None]


def _prepare(request: Request, model_id: str, body: bytes) -> Prepared:
    """The caller, the model, the checked inputs and ``store``: everything before the math."""
    db: Database = request.app.state.db
    settings: Settings = request.app.state.settings
    # The guard found the caller before the body was read; authenticate is the fallback for an
    # app mounted without it.
    caller = request_caller(request) or authenticate(db, request.headers.get("authorization"))
    inputs, store_it = _predict_body(body, request.headers.get("content-type", ""))
    loaded = inference.load_cached(request.app.state.model_cache, db,
                                   tenant_id=caller.tenant_id, model_id=model_id)
    rows = len(inputs) if isinstance(inputs, list) else 0
    inference.check_workload(loaded, rows, max_rows=settings.max_predict_rows,
                             max_activations=settings.max_predict_activations)
    X, ignored = inference.read_inputs(loaded, inputs)
    return caller, loaded, X, store_it, ignored


def _answer(request: Request, model_id: str, prepared: Prepared) -> Response:
    caller, loaded, X, store_it, ignored = prepared
    predictions, probabilities = inference.predict(loaded, X)
    prediction_id = None
    if store_it:
        prediction_id = store.store_prediction(
            request.app.state.db, tenant_id=caller.tenant_id, model_id=model_id,
            predictions=predictions, probabilities=probabilities, ignored_columns=ignored,
        )
    payload: dict[str, Any] = {"predictions": predictions, "probabilities": probabilities,
                               "prediction_id": prediction_id}
    if ignored is not None:  # inputs by name: the columns the model does not take
        payload["ignored_columns"] = ignored
    return Response(fastjson.dumps(payload), media_type=JSON_MEDIA)


def _prepare_and_answer(request: Request, model_id: str, body: bytes) -> Response:
    return _answer(request, model_id, _prepare(request, model_id, body))


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
    if not (db.is_sqlite and cached and len(body) <= INLINE_BODY_BYTES and not writes):
        return await run_in_threadpool(_prepare_and_answer, request, model_id, body)
    prepared = _prepare(request, model_id, body)
    n_rows = prepared[2].n_rows if isinstance(prepared[2], Table) else prepared[2].shape[0]
    if n_rows * prepared[1].net.n_parameters <= INLINE_MULTIPLY_ADDS:
        return _answer(request, model_id, prepared)
    return await run_in_threadpool(_answer, request, model_id, prepared)
