"""``/v1/models``: list, get, rename and tag (PATCH), delete, weights and batch predictions
(predict: ``routes.predict``; aliases: ``routes.aliases``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.status import HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from service.deps import CallerDep, CursorQuery, DbDep, LimitQuery, SettingsDep
from service.errors import InvalidInput, field_error
from service.inference import matching
from service.problems import problem_responses
from service.repository import datasets as dataset_store
from service.repository import jobs as job_store
from service.repository import models as store
from service.routes import aliases
from service.schemas import BatchPredictCreate, JobPublic, ModelPublic, Page
from service.schemas.aliases import ModelUpdate
from service.schemas.common import DEFAULT_LIMIT

router = APIRouter(prefix="/v1/models", tags=["models"])
# The alias routes first: "/{model_id}" below (and routes.predict's) would take "aliases".
router.include_router(aliases.router)

BINARY = {"type": "string", "format": "binary"}


@router.get("", response_model=Page[ModelPublic], responses=problem_responses(401, 422))
def list_models(
    caller: CallerDep, db: DbDep, limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None,
    name: Annotated[str | None, Query(max_length=200, description="Only models of this name")
                    ] = None,
    tag: Annotated[str | None, Query(max_length=64, description="Only models with this tag")
                   ] = None,
) -> Page[ModelPublic]:
    rows, next_cursor = store.list_models(
        db, tenant_id=caller.tenant_id, limit=limit, cursor=cursor, name=name, tag=tag
    )
    return Page[ModelPublic](data=[ModelPublic.of(r) for r in rows], next=next_cursor)


@router.get("/{model_id}", response_model=ModelPublic, responses=problem_responses(401, 404, 422))
def get_model(model_id: str, caller: CallerDep, db: DbDep) -> ModelPublic:
    return ModelPublic.of(store.read_model(db, tenant_id=caller.tenant_id, model_id=model_id))


@router.patch("/{model_id}", response_model=ModelPublic,
              responses=problem_responses(400, 401, 404, 422),
              summary="Set a model's name, description and tags")
def update_model(model_id: str, body: ModelUpdate, caller: CallerDep, db: DbDep) -> ModelPublic:
    changes = body.model_dump(include=body.model_fields_set)
    if "tags" in changes:
        changes["tags"] = changes["tags"] or []
    return ModelPublic.of(store.update_model(db, tenant_id=caller.tenant_id, model_id=model_id,
                                             changes=changes))


@router.delete("/{model_id}", status_code=HTTP_204_NO_CONTENT, response_class=Response,
               responses=problem_responses(401, 404, 409),
               summary="Delete a model (409 while an alias names it or a job uses it)")
def delete_model(model_id: str, request: Request, caller: CallerDep, db: DbDep) -> Response:
    store.delete_model(db, tenant_id=caller.tenant_id, model_id=model_id)
    request.app.state.model_cache.discard(model_id)
    return Response(status_code=HTTP_204_NO_CONTENT)


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
    msg = matching.problem(model.columns, model.n_features, dataset)
    if msg is not None:
        msg = f"model {model.id}: {msg}"
        raise InvalidInput(msg, errors=[field_error(["body", "dataset_id"], msg)])
    job, _ = job_store.submit(
        db, settings=settings, tenant_id=caller.tenant_id, kind="predict",
        dataset_id=dataset.id, model_id=model.id,
        spec={"model_id": model.id, "ignored_columns": matching.ignored(model.columns, dataset)},
        max_attempts=3,
    )
    return JobPublic.of(job)
