"""``POST /v1/models/{id}/predict``, the hot path: no pydantic on the way in or out, at most one
thread hop, in three formats.

Bodies: JSON (``{"inputs": …}``), a NumPy ``.npy`` array (``application/x-npy``,
`service.inference.npy`) or an Arrow IPC stream (``application/vnd.apache.arrow.stream``,
`service.inference.arrow`); answers in JSON unless ``Accept`` asks for one of the other two.
`answer_predict` is the whole route for a model id, so another route (a model by alias) can
answer with it.

Small work answers on the event loop: the caller already found by the guard (from its key
cache), the model cached, no write, a body of a few KB and rows × parameters within
``INLINE_MULTIPLY_ADDS`` (about a millisecond of arithmetic) — the hop to a worker thread and
back would cost as much. Anything larger, any write (``store``), a model to load and a caller
to look up run in a worker thread. Rows and rows × the widest layer are bounded by settings
(422 beyond).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from service import fastjson, inference
from service.auth import Caller, authenticate
from service.db import Database
from service.deps import bearer_scheme, request_caller
from service.errors import BadRequest, InvalidInput, UnsupportedMediaType, field_error
from service.inference import arrow, npy
from service.problems import problem_responses
from service.repository import predictions as store
from service.schemas import PredictCreate, PredictPublic
from service.settings import Settings
from worker.pipeline import Table

router = APIRouter(prefix="/v1/models", tags=["models"])

JSON_MEDIA = "application/json"
MEDIA = (JSON_MEDIA, npy.MEDIA, arrow.MEDIA)
INLINE_BODY_BYTES = 8 * 1024
INLINE_MULTIPLY_ADDS = 1_000_000
BINARY = {"schema": {"type": "string", "format": "binary"}}
PREDICT_ANSWERS = {"content": {npy.MEDIA: BINARY, arrow.MEDIA: BINARY},
                   "description": "The predictions, in the format `Accept` asks for (JSON by "
                                  "default; docs/api.md \"Binary predict\")"}


@dataclass(frozen=True)
class Asked:
    """What a request asks: the model, its body and the body's and answer's media types."""

    model_id: str
    body: bytes
    media: str
    answer: str
    store: bool  # the query's ``store`` (a JSON body may say so too)


def body_media(content_type: str) -> str:
    """The body's media type (JSON when none is given); 415 for any other."""
    media = content_type.split(";")[0].strip().lower()
    if not media or media == JSON_MEDIA or media.endswith("+json"):
        return JSON_MEDIA
    if media in MEDIA:
        return media
    raise UnsupportedMediaType(f"Send the inputs as {', '.join(MEDIA)}; not {media}.")


def answer_media(accept: str | None) -> str:
    """The answer's media type: the one of ours ``Accept`` weighs most (the first named on a
    tie; JSON with no ``Accept`` or when it names none of ours)."""
    best, weight = JSON_MEDIA, 0.0
    for part in (accept or "").split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media.lower() in MEDIA and q > weight:
            best, weight = media.lower(), q
    return best


def _json_body(body: bytes) -> tuple[Any, bool]:
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


@dataclass(frozen=True)
class Prepared:
    caller: Caller
    loaded: inference.LoadedModel
    X: np.ndarray | Table
    store: bool
    ignored: list[str] | None
    loc: list[str | int]  # where a row's error is located: JSON inputs, or the binary body

    @property
    def n_rows(self) -> int:
        return self.X.n_rows if isinstance(self.X, Table) else int(self.X.shape[0])


def _prepare(request: Request, asked: Asked) -> Prepared:
    """The caller, the model, the checked inputs and ``store``: everything before the math."""
    db: Database = request.app.state.db
    settings: Settings = request.app.state.settings
    # The guard found the caller before the body was read; authenticate is the fallback for an
    # app mounted without it.
    caller = request_caller(request) or authenticate(db, request.headers.get("authorization"))
    if arrow.MEDIA in (asked.media, asked.answer):
        arrow.available()  # 415 before any work when pyarrow is missing
    loaded = inference.load_cached(request.app.state.model_cache, db,
                                   tenant_id=caller.tenant_id, model_id=asked.model_id)
    limits = {"max_rows": settings.max_predict_rows,
              "max_activations": settings.max_predict_activations}
    if asked.media == JSON_MEDIA:
        inputs, store_it = _json_body(asked.body)
        rows = len(inputs) if isinstance(inputs, list) else 0
        inference.check_workload(loaded, rows, **limits)
        X, ignored = inference.read_inputs(loaded, inputs,
                                           plain=inference.numbers_only(asked.body))
        return Prepared(caller, loaded, X, store_it or asked.store, ignored, ["body", "inputs"])
    if asked.media == npy.MEDIA:
        matrix = npy.read_npy(asked.body)
        inference.check_workload(loaded, matrix.shape[0], **limits)
        X = inference.check_matrix(loaded, matrix, ["body"])
        return Prepared(caller, loaded, X, asked.store, None, ["body"])
    X, ignored = arrow.read_arrow(loaded, asked.body, max_rows=settings.max_predict_rows)
    n_rows = X.n_rows if isinstance(X, Table) else X.shape[0]
    inference.check_workload(loaded, n_rows, **limits)
    if not isinstance(X, Table):
        X = inference.check_matrix(loaded, X, ["body"])
    return Prepared(caller, loaded, X, asked.store, ignored, ["body"])


def _outputs(prepared: Prepared) -> np.ndarray:
    try:
        return inference.outputs(prepared.loaded, prepared.X)
    except inference.PredictionError as exc:
        loc = [*prepared.loc, exc.row] + ([] if exc.column is None else [exc.column])
        raise InvalidInput(str(exc), errors=[field_error(loc, str(exc))]) from None


def _answer(request: Request, asked: Asked, prepared: Prepared) -> Response:
    loaded, out = prepared.loaded, _outputs(prepared)
    prediction_id = None
    if prepared.store:
        predictions, probabilities = inference.to_answers(loaded, out)
        prediction_id = store.store_prediction(
            request.app.state.db, tenant_id=prepared.caller.tenant_id, model_id=asked.model_id,
            predictions=predictions, probabilities=probabilities,
            ignored_columns=prepared.ignored,
        )
    if asked.answer == npy.MEDIA:
        headers = {"Descent-Prediction-Id": prediction_id} if prediction_id else None
        return Response(npy.npy_bytes(npy.answer_array(loaded, out)), media_type=npy.MEDIA,
                        headers=headers)
    if asked.answer == arrow.MEDIA:
        return Response(arrow.arrow_bytes(loaded, out, prediction_id=prediction_id,
                                          ignored=prepared.ignored), media_type=arrow.MEDIA)
    predictions, probabilities = inference.json_answers(loaded, out)
    payload: dict[str, Any] = {"predictions": predictions, "probabilities": probabilities,
                               "prediction_id": prediction_id}
    if prepared.ignored is not None:  # inputs by name: the columns the model does not take
        payload["ignored_columns"] = prepared.ignored
    return Response(fastjson.dumps(payload), media_type=JSON_MEDIA)


def _prepare_and_answer(request: Request, asked: Asked) -> Response:
    return _answer(request, asked, _prepare(request, asked))


async def answer_predict(request: Request, model_id: str, *, store_it: bool = False) -> Response:
    """The predict route for ``model_id``: read the body, answer in the format asked."""
    asked = Asked(
        model_id=model_id, body=await request.body(),
        media=body_media(request.headers.get("content-type", "")),
        answer=answer_media(request.headers.get("accept")), store=store_it,
    )
    light = (request_caller(request) is not None and model_id in request.app.state.model_cache
             and len(asked.body) <= INLINE_BODY_BYTES and not asked.store
             and b'"store"' not in asked.body)  # storing writes: never on the event loop
    if not light:
        return await run_in_threadpool(_prepare_and_answer, request, asked)
    prepared = _prepare(request, asked)
    if prepared.n_rows * prepared.loaded.net.n_parameters <= INLINE_MULTIPLY_ADDS:
        return _answer(request, asked, prepared)
    return await run_in_threadpool(_answer, request, asked, prepared)


@router.post(
    "/{model_id}/predict",
    response_model=PredictPublic,
    dependencies=[Depends(bearer_scheme)],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {JSON_MEDIA: {"schema": PredictCreate.model_json_schema()},
                        npy.MEDIA: BINARY, arrow.MEDIA: BINARY},
        }
    },
    responses={
        200: PREDICT_ANSWERS,
        **problem_responses(400, 401, 404, 413, 415, 422),
    },
    summary="Predict rows with a model (optionally storing the result)",
)
async def predict(
    model_id: str, request: Request,
    store_it: Annotated[bool, Query(alias="store", description=(
        "Keep the result as a prediction resource (binary bodies; a JSON body may say "
        "`\"store\": true` instead)"))] = False,
) -> Response:
    return await answer_predict(request, model_id, store_it=store_it)
